"""The som rules against their peers: MiniSom 2.3.6 (online, batch, QE, TE) and the forum's PyTorch code."""

import numpy as np
import pytest

import dyn
from som_reference import forum_torch, minisom_map, small_data, small_init

pytest.importorskip("minisom")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("neighbourhood, topology, lr_decay, sigma_decay", [
    ("gaussian", "rectangular", "asymptotic_decay", "asymptotic_decay"),
    ("gaussian", "hexagonal", "inverse_decay_to_zero", "inverse_decay_to_one"),
    ("mexican_hat", "rectangular", "linear_decay_to_zero", "linear_decay_to_one"),
    ("bubble", "rectangular", "asymptotic_decay", "asymptotic_decay"),
    ("triangle", "hexagonal", "asymptotic_decay", "linear_decay_to_one"),
])
def test_online_rule_is_minisom(neighbourhood, topology, lr_decay, sigma_decay):
    x, init = small_data(50, 3), small_init(12, 3)
    som = minisom_map(3, 4, 3, init, sigma=2.0, learning_rate=0.4, neighborhood_function=neighbourhood,
                      topology=topology, decay_function=lr_decay, sigma_decay_function=sigma_decay)
    som.train(x, 137)  # samples in order, cycling
    ds = dyn.simulate("som", rule="online", rows=3, cols=4, data=x, init=init, steps=137, sigma=2.0, lr=0.4,
                      neighbourhood=neighbourhood, topology=topology, lr_decay=lr_decay, sigma_decay=sigma_decay)
    np.testing.assert_allclose(ds.w[-1], som.get_weights().reshape(12, 3), rtol=0, atol=1e-10)
    assert float(ds.quantization_error[-1]) == pytest.approx(som.quantization_error(x), abs=1e-12)
    assert float(ds.topographic_error[-1]) == pytest.approx(som.topographic_error(x), abs=1e-12)
    assert float(abs(ds.w[-1] - ds.w[0]).max()) > 0.1  # the map moved


def test_qe_te_of_every_snapshot_are_minisoms():
    x, init = small_data(80, 2), small_init(20, 2)
    ds = dyn.simulate("som", rule="online", rows=4, cols=5, data=x, init=init, steps=40, record_every=10)
    som = minisom_map(4, 5, 2, init)
    for t in range(ds.sizes["time"]):
        som._weights = ds.w[t].values.reshape(4, 5, 2)
        assert float(ds.quantization_error[t]) == pytest.approx(som.quantization_error(x), abs=1e-12)
        assert float(ds.topographic_error[t]) == pytest.approx(som.topographic_error(x), abs=1e-12)
    assert len(set(np.round(ds.topographic_error.values, 6))) > 1


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_batch_map_is_train_batch_offline(topology):
    x, init = small_data(70, 3, seed=5), small_init(12, 3, seed=6)
    som = minisom_map(3, 4, 3, init, sigma=1.5, learning_rate=0.7, topology=topology)
    som.train_batch_offline(x, 9)
    ds = dyn.simulate("som", rule="batch", rows=3, cols=4, data=x, init=init, steps=9, sigma=1.5, lr=0.7,
                      topology=topology)
    np.testing.assert_allclose(ds.w[-1], som.get_weights().reshape(12, 3), rtol=0, atol=1e-10)
    assert int(ds.samples_seen[-1]) == 9 * 70


def test_topographic_rule_is_the_forums_pytorch_code_in_float64():
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    D, rows, cols, B, steps = 16, 5, 6, 40, 12
    x = rng.random((100, D))
    init = rng.normal(0, 1 / np.sqrt(D), (rows * cols, D))
    ds = dyn.simulate("som", rule="topographic", rows=rows, cols=cols, data=x, init=init, steps=steps, sigma=2.0,
                      lr=0.05, batch=B, record_every=1)
    order = np.arange(steps * B) % len(x)
    ref = forum_torch(init, [x[order[s * B:(s + 1) * B]] for s in range(steps)], sigma=2.0, lr=0.05,
                      rows=rows, cols=cols)
    for t in range(steps):
        np.testing.assert_allclose(ds.w[t + 1], ref[t], rtol=0, atol=1e-8)
    assert float(abs(ds.w[-1] - ds.w[0]).max()) > 0.5
