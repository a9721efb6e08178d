"""Results measured by the repository's benchmarks, shipped as data (read them with
:func:`cerlib.examples.measured`): the course-scale learning curves that fixed the grid's
schedule, and the committed ``reproduce`` run on three draws of the stubs. Synthetic data."""
