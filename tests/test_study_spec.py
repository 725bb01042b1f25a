"""Study specs: grid expansion, and one line with exit 2 for every bad spec, before anything runs."""

import tomllib

import pytest

from dyn.cli.app import main
from dyn.errors import UsageError
from dyn.study.spec import load_spec, parse_spec

BASE = 'flow = "relu"\nseeds = 3\n[fixed]\nframes = 5\n'


def spec_of(text, tmp_path, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_grid_expansion_of_lists_ranges_and_logspace(tmp_path):
    spec = load_spec(spec_of(BASE + '[sweep]\nradius = {logspace = [-2, 0, 3]}\nwidth = {range = [4, 13, 4]}\n'
                                    'lr = [0.5, 1]\n', tmp_path))
    assert spec.sweep["radius"] == pytest.approx([0.01, 0.1, 1.0])
    assert spec.sweep["width"] == [4, 8, 12]
    assert spec.sweep["lr"] == [0.5, 1.0] and all(isinstance(v, float) for v in spec.sweep["lr"])
    assert spec.dims == ["radius", "width", "lr", "seed"] and spec.shape == (3, 3, 2, 3)
    assert len(spec.points()) == 18 and spec.seeds == [0, 1, 2]
    assert spec.options((2, 0, 1), 1, 3) == {"frames": 5, "radius": 1.0, "width": 4, "lr": 1.0, "seed": 1,
                                             "replicas": 2}
    assert parse_spec({"flow": "relu", "seeds": {"start": 10, "count": 2}}).seeds == [10, 11]


def test_json_round_trip_keeps_the_sweep_order(tmp_path):
    from dyn.study.spec import Spec

    spec = load_spec(spec_of(BASE + '[sweep]\nwidth = [4, 8]\nradius = [0.5, 0.1]\n', tmp_path))
    back = Spec.from_json(spec.to_json())
    assert back == spec and back.dims == ["width", "radius", "seed"]


def test_identity_ignores_the_figure(tmp_path):
    fig = '[[figure]]\nkind = "bands"\nmetric = "final_loss_test"\nx = "width"\n'
    a = load_spec(spec_of(BASE + '[sweep]\nwidth = [4, 8]\n', tmp_path, "a.toml"))
    b = load_spec(spec_of(BASE + '[sweep]\nwidth = [4, 8]\n' + fig, tmp_path, "b.toml"))
    assert a.identity() == b.identity() and a.figures != b.figures


@pytest.mark.parametrize("text, words", [
    (BASE + '[sweep]\nwidht = [4, 8]\n', "sweep.widht: unknown parameter of flow 'relu'"),
    (BASE.replace("frames", "framez"), "fixed.framez: unknown parameter"),
    (BASE + '[sweep]\nwidth = []\n', "sweep.width is empty"),
    (BASE + '[sweep]\nwidth = {range = [8, 4, 1]}\n', "sweep.width is empty"),
    (BASE + '[sweep]\nwidth = {logspace = [0, 1, 0]}\n', "sweep.width is empty"),
    (BASE + '[sweep]\nwidth = ["four", "eight"]\n', "width must be an integer, got 'four' (at width='four')"),
    (BASE + '[sweep]\nradius = [0.1, -1.0]\n', "radius must be > 0, got -1.0 (at radius=-1.0)"),
    (BASE + '[sweep]\nwidth = 4\n', "sweep.width must be a list"),
    (BASE + '[sweep]\nseed = [1, 2]\n', "the study sets seed and replicas"),
    (BASE.replace("seeds = 3", 'seeds = "many"'), "seeds count must be an integer"),
    (BASE.replace("seeds = 3", "seeds = 0"), "seeds count must be >= 1"),
    ('flow = "nope"\n', "unknown flow 'nope'"),
    ('flow = "relu"\n[fixed\nwidth = 3\n', "is not valid TOML"),
    (BASE + '[keep]\ntrajectories = "yes"\n', "keep.trajectories must be"),
    (BASE + '[sweep]\nlr = {logspace = [0, 1000, 3]}\n', "sweep.lr: logspace exponents must lie in [-307, 307]"),
    (BASE + '[sweep]\nlr = {logspace = [0, inf, 3]}\n', "sweep.lr: logspace takes finite numbers"),
    (BASE + '[sweep]\nlr = {range = [0.5, nan, 1]}\n', "sweep.lr: range takes finite numbers"),
    (BASE + '[sweep]\nwidth = {range = [1, 100000000000, 1]}\n', "a swept parameter takes at most"),
    (BASE + '[sweep]\nwidth = [4]\n[[figure]]\nkind = "pie"\n', "figure.kind must be one of"),
    (BASE + '[sweep]\nwidth = [4]\n[[figure]]\nkind = "heatmap"\nmetric = "m"\nx = "width"\ny = "lr"\n',
     "figure.y must be a swept parameter"),
])
def test_bad_spec_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, text, words):
    monkeypatch.chdir(tmp_path)
    spec_of(text, tmp_path)
    code = main(["study", "run", "s.toml", "-q"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("dyn: error: ") and "Traceback" not in err, err
    assert words in err, err
    assert not (tmp_path / "s.zarr").exists()


def test_missing_spec_file_is_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["study", "run", "none.toml"]) == 2
    assert "no such spec file" in capsys.readouterr().err


def test_parse_spec_raises_usage_error():
    with pytest.raises(UsageError, match="unknown spec entry 'sweeps'"):
        parse_spec({"flow": "relu", "sweeps": {}})


@pytest.mark.parametrize("keep, words", [
    ('metrics = ["final_loss_test", "nosuch"]', "keep.metrics: flow 'relu' has no metric 'nosuch'; it has: "
                                                "final_loss_test, final_loss_train, convergence_step"),
    ('trajectories = ["loss_test", "nosuch"]', "keep.trajectories: 'nosuch' is not a variable with a time dim"),
])
def test_unknown_kept_names_are_refused_before_any_task(tmp_path, monkeypatch, capsys, keep, words):
    with pytest.raises(UsageError, match=words.replace("(", r"\(")):
        parse_spec({"flow": "relu", "fixed": {"frames": 3}, "keep": tomllib.loads(keep)})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DYN_STUDY_LOG", str(tmp_path / "log"))
    spec_of(BASE + "[sweep]\nwidth = [4, 5]\n[keep]\n" + keep + "\n", tmp_path)
    assert main(["study", "run", "s.toml", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "log").exists() and not (tmp_path / "s.zarr").exists()  # no task ran


def test_kept_names_the_flow_has_are_accepted():
    spec = parse_spec({"flow": "relu", "keep": {"metrics": ["convergence_step"], "trajectories": ["loss_train"]}})
    assert spec.metrics == ["convergence_step"] and spec.trajectories == ["loss_train"]


def test_parameters_that_follow_a_swept_one(tmp_path):
    """``follow``: other fields set to factor x the swept value (Safran & Shamir's k = n = m, or m = 2k)."""
    from dyn.study.spec import Spec

    spec = load_spec(spec_of(BASE + '[sweep]\nteacher_width = {values = [2, 3], follow = {dim = 1, width = 2}}\n',
                             tmp_path))
    assert spec.sweep == {"teacher_width": [2, 3]} and spec.dims == ["teacher_width", "seed"]
    assert spec.options((1,), 0, 3) == {"frames": 5, "teacher_width": 3, "dim": 3, "width": 6, "seed": 0,
                                        "replicas": 3}
    assert Spec.from_json(spec.to_json()) == spec
    plain = load_spec(spec_of(BASE + '[sweep]\nteacher_width = [2, 3]\n', tmp_path, "p.toml"))
    assert "follow" not in plain.identity()  # the stores of specs without follow keep their identity
    for bad, words in (('{values = [2], follow = {dimm = 1}}', "unknown parameter"),
                       ('{values = [2], follow = {frames = 1}}', "also fixed or swept"),
                       ('{values = [2], follow = {dim = "x"}}', "must be a number")):
        with pytest.raises(UsageError, match=words):
            load_spec(spec_of(BASE + f'[sweep]\nteacher_width = {bad}\n', tmp_path, "b.toml"))
