"""The command line: train, predict (a corpus or one new recording), errors in one line, the console script."""
import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from cerlib import CERMTL
from cerlib.__main__ import main
from cerlib.framing import Framing
from cerlib.training import Preprocessing, save_model

ROOT = Path(__file__).resolve().parent.parent
RECOLA = ROOT / "data_stubs" / "recola"
CREATIVEIT = ROOT / "data_stubs" / "creativeit"


@pytest.fixture(scope="module")
def speech_model(tmp_path_factory):
    """A speech-only model trained by the CLI on the RECOLA stub at its label rate, 25 fps (1 epoch)."""
    path = tmp_path_factory.mktemp("models") / "speech.pt"
    assert main(["train", str(RECOLA), "--epochs", "1", "--lr", "1e-3", "--quiet", "--modalities", "speech", "--fps", "25",
                 "--out", str(path)]) == 0
    return path


def test_help_lists_the_commands_and_the_console_script_is_the_same():
    out = subprocess.run([sys.executable, "-m", "cerlib", "--help"], capture_output=True, text=True, check=True)
    for command in ("info", "make-stubs", "train", "predict", "reproduce"):
        assert command in out.stdout
    script = Path(sys.executable).parent / "cerlib"
    assert script.exists() or shutil.which("cerlib"), "pip install -e . installs a `cerlib` command"
    same = subprocess.run([str(script if script.exists() else shutil.which("cerlib")), "--help"],
                          capture_output=True, text=True, check=True)
    assert same.stdout.replace("python -m cerlib", "cerlib") == out.stdout.replace("python -m cerlib", "cerlib")


def test_train_saves_and_predicts_a_corpus_outside_the_dataset(tmp_path, capsys):
    model = tmp_path / "new" / "folder" / "m.pt"  # a folder that does not exist yet is created
    assert main(["train", str(RECOLA), "--epochs", "1", "--lr", "1e-3", "--quiet", "--out", str(model)]) == 0
    assert "test (dev): ccc_activation" in capsys.readouterr().out and model.exists()
    out = tmp_path / "pred"
    assert main(["predict", "--data", str(RECOLA), "--model", str(model), "--out", str(out), "--quiet"]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 9 and files[0] == "dev_1.csv"
    assert (out / "dev_1.csv").read_text().splitlines()[0] == "time,activation,valence"


def test_nothing_is_ever_written_into_the_dataset(tmp_path, capsys, speech_model):
    before = sorted(p.relative_to(RECOLA) for p in RECOLA.rglob("*"))
    code = main(["predict", "--data", str(RECOLA), "--model", str(speech_model), "--out", str(RECOLA / "pred"),
                 "--quiet"])
    assert code == 2 and "inside the dataset folder" in capsys.readouterr().err
    code = main(["train", str(RECOLA), "--epochs", "50", "--quiet", "--out", str(RECOLA / "m.pt")])
    err = capsys.readouterr()
    assert code == 2 and "inside the dataset folder" in err.err and "test (dev)" not in err.out  # refused before training
    assert sorted(p.relative_to(RECOLA) for p in RECOLA.rglob("*")) == before


def _speech_wav(path: Path) -> Path:
    """A real utterance from espeak-ng when it is installed, else a synthetic vowel sequence."""
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-w", str(path), "Continuous emotion recognition, one frame at a time."],
                       check=True, capture_output=True)
    else:
        t = np.arange(3 * 16000) / 16000
        sf.write(path, 0.3 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 3 * t)), 16000)
    return path


def test_predict_one_new_recording_writes_a_trace(tmp_path, speech_model, capsys):
    wav = _speech_wav(tmp_path / "hello.wav")
    out = tmp_path / "trace"
    assert main(["predict", str(wav), "--model", str(speech_model), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["hello.csv", "hello.png"]
    table = pd.read_csv(out / "hello.csv", comment="#").to_numpy()
    seconds = sf.info(str(wav)).duration
    assert abs(len(table) - seconds * 25) <= 2  # the RECOLA model's frame rate, 25 fps, is used by default
    assert np.isfinite(table).all() and table.shape[1] == 3 and table.shape[0] > 0
    assert "25 fps" in capsys.readouterr().out


def test_a_model_that_needs_motion_says_so_and_uses_it(tmp_path, capsys):
    model = CERMTL(n_features=63)
    model.preprocessing = Preprocessing(framing=Framing(20, 10), tasks=model.tasks, modalities=("speech", "motion"),
                                        fps=60.0)
    save_model(model, tmp_path / "mm.pt")
    wav = next((CREATIVEIT / "audio").glob("*.wav"))
    bvh = CREATIVEIT / "mocap" / (wav.stem + ".bvh")
    code = main(["predict", str(wav), "--model", str(tmp_path / "mm.pt"), "--out", str(tmp_path / "o")])
    assert code == 2 and "--motion" in capsys.readouterr().err
    assert main(["predict", str(wav), "--motion", str(bvh), "--model", str(tmp_path / "mm.pt"),
                 "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert (tmp_path / "o" / f"{wav.stem}.csv").read_text().startswith("time,activation,valence,dominance")


def test_errors_are_one_line_with_exit_code_2_and_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "Traceback" not in err
    with pytest.raises(Exception, match="does not exist"):
        main(["info", str(tmp_path / "nowhere"), "--debug"])
    (tmp_path / "junk.pt").write_bytes(b"junk")
    assert main(["predict", "x.wav", "--model", str(tmp_path / "junk.pt"), "--out", str(tmp_path / "o")]) == 2
    assert "junk.pt" in capsys.readouterr().err


def test_a_crafted_checkpoint_runs_no_code_from_the_cli(tmp_path):
    marker = tmp_path / "ran"
    code = (f"import torch\nclass Evil:\n    def __reduce__(self):\n"
            f"        return (eval, (\"open({str(marker)!r}, 'w').write('x')\",))\n"
            f"torch.save({{'kind': 'cerlib-model', 'format': 1, 'x': Evil()}}, {str(tmp_path / 'evil.pt')!r})\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    run = subprocess.run([sys.executable, "-m", "cerlib", "predict", "x.wav", "--model", str(tmp_path / "evil.pt"),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert run.returncode == 2 and "evil.pt" in run.stderr
    assert not marker.exists()


def test_predict_one_recording_never_writes_into_a_dataset_nor_over_a_file(tmp_path, capsys, speech_model):
    corpus = tmp_path / "recola"
    shutil.copytree(RECOLA / "recordings_audio", corpus / "recordings_audio")
    wav = next((corpus / "recordings_audio").glob("*.wav"))
    before = sorted(corpus.rglob("*"))
    for out in (corpus / "recordings_audio", corpus / "new" / "sub"):
        assert main(["predict", str(wav), "--model", str(speech_model), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"inside the dataset folder {corpus}" in err and err.count("\n") == 1
    assert sorted(corpus.rglob("*")) == before
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    assert main(["predict", str(wav), "--model", str(speech_model), "--out", str(taken), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is an existing file" in err and "Traceback" not in err and taken.read_text() == "mine"
    assert main(["train", str(RECOLA), "--epochs", "1", "--quiet", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_device_errors_end_in_one_line_before_any_work(capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)   # whatever this machine has
    for device, match in [("bogus", "not a device name"), ("cuda", "no CUDA GPU")]:
        assert main(["train", str(RECOLA), "--epochs", "1", "--quiet", "--device", device]) == 2
        out = capsys.readouterr()
        assert f"--device {device}: " in out.err and match in out.err and out.err.count("\n") == 1
        assert "Traceback" not in out.err and "test (dev)" not in out.out


@pytest.mark.parametrize("command", [["train", str(RECOLA)], ["info", str(RECOLA)],
                                     ["predict", "x.wav", "--model", "m.pt", "--out", "o"]])
@pytest.mark.parametrize("fps", ["0", "-25", "nan"])
def test_a_frame_rate_that_is_not_positive_is_refused(command, fps, capsys):
    with pytest.raises(SystemExit) as stop:
        main(command + ["--fps", fps])
    assert stop.value.code == 2 and "argument --fps: " in capsys.readouterr().err


def test_info_on_a_file_says_what_it_is_and_on_a_parent_folder_gives_a_whole_sentence(capsys):
    wav = next((CREATIVEIT / "audio").glob("*.wav"))
    assert main(["info", str(wav)]) == 2
    err = capsys.readouterr().err
    assert "is a file (.wav), not a dataset folder" in err and "does not exist" not in err
    assert main(["info", str(ROOT / "data_stubs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("pass one of those folders).") and err.count("\n") == 0


def test_home_folder_in_paths_is_expanded(tmp_path, monkeypatch, speech_model, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copy(speech_model, tmp_path / "m.pt")
    wav = _speech_wav(tmp_path / "take.wav")
    assert main(["predict", "~/take.wav", "--model", "~/m.pt", "--out", "~/pred", "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == ["take.csv", "take.png"]
    assert not (Path.cwd() / "~").exists()
    assert wav.exists()


def test_an_index_with_a_header_and_no_rows_says_so(tmp_path, capsys):
    corpus = tmp_path / "creativeit"
    corpus.mkdir()
    (corpus / "recordings.csv").write_text("recording,session,improvisation,actor,partner\n")
    assert main(["info", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert "recordings.csv lists no recordings: it has a header and no rows" in err and "dropped" not in err


def test_every_option_has_help_and_its_default_and_no_rest_markup():
    from cerlib.__main__ import _parser

    parser = _parser()
    commands = parser._subparsers._group_actions[0].choices
    for name in ("info", "train", "predict"):
        sub = commands[name]
        text = " ".join(sub.format_help().split())
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"
            if action.default is not None and action.default is not False and action.default != argparse.SUPPRESS:
                assert f"(default: {action.default})" in text, f"{name} {action.option_strings}: default not shown"
        for markup in ("``", ":func:", ":class:", ":meth:"):
            assert markup not in text + parser.format_help(), f"reST markup {markup} in cerlib {name} --help"


@pytest.mark.parametrize("kind", ["wav", "csv"])
def test_predict_with_a_wav_or_csv_as_model_says_it_is_not_a_model(tmp_path, capsys, kind):
    wav = next((CREATIVEIT / "audio").glob("*.wav"))
    model = wav if kind == "wav" else CREATIVEIT / "recordings.csv"
    assert main(["predict", str(wav), "--model", str(model), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not a cerlib model file" in err and ("WAV audio" if kind == "wav" else "CSV") in err
    assert "IndexError" not in err


def test_predict_outside_the_corpus_says_a_stub_model_was_trained_on_synthetic_data(tmp_path, speech_model,
                                                                                     monkeypatch, capsys):
    from cerlib import plots

    titles = []
    real = plots.plot_prediction
    monkeypatch.setattr(plots, "plot_prediction", lambda *a, **k: titles.append(k["title"]) or real(*a, **k))
    wav = _speech_wav(tmp_path / "me.wav")
    assert main(["predict", str(wav), "--model", str(speech_model), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    first = (tmp_path / "o" / "me.csv").read_text().splitlines()[:2]
    assert first[0].startswith("# model trained on synthetic stub data (recola")
    assert first[1] == "time,activation,valence"
    assert "synthetic stubs" in titles[0] and "synthetic stub" in capsys.readouterr().out
    real_model = tmp_path / "real.pt"     # the same model, not marked as trained on stubs: no note
    from cerlib.training import load_model

    m = load_model(speech_model, device="cpu")
    assert m.trained_on["synthetic"] is True and m.trained_on["corpus"] == "recola"
    m.trained_on = {"corpus": "recola", "synthetic": False}
    save_model(m, real_model)
    assert main(["predict", str(wav), "--model", str(real_model), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert (tmp_path / "r" / "me.csv").read_text().startswith("time,activation,valence\n")
    assert "synthetic" not in titles[1]


@pytest.mark.parametrize("fps", [60.0, 25.0])
def test_a_new_recording_is_read_as_the_corpus_reads_it(fps):
    """One path from files to features: `cerlib predict AUDIO --motion BVH` and load_corpus give the same
    frames (catches a second BVH resampling with its own tolerance or frame count)."""
    from cerlib import load_corpus
    from cerlib.__main__ import recording_from_files

    rec = load_corpus(CREATIVEIT, fps=fps, progress=False)[0]
    new = recording_from_files(rec.sources["audio"], rec.sources["motion"], fps=fps)
    n = rec.n_frames
    assert new.n_frames >= n
    for m in ("speech", "motion"):
        np.testing.assert_array_equal(new.features[m][:n], rec.features[m], err_msg=m)


def test_info_and_its_errors_need_no_torch():
    """`cerlib info` reads a corpus only: it loads no torch (a second and a half saved), and a bad folder is
    still one line naming it, exit status 2."""
    code = ("import sys; from cerlib.__main__ import main; "
            f"ok = main(['info', {str(RECOLA)!r}, '--quiet']); bad = main(['info', '/nonexistent/corpus', '--quiet']); "
            "print(ok, bad, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "0 2 False", out.stdout[-500:]
    assert "cerlib info: error: dataset folder /nonexistent/corpus does not exist" in out.stderr
