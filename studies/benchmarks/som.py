"""Benchmark of the som flow against what a user would run instead, in one process.

    python studies/benchmarks/som.py            # prints times and ratios

(a) online Kohonen, 20 x 20 map, D = 2, 20,000 samples: MiniSom 2.3.6's ``train`` vs dyn's kernel (target >= 20x),
    and vs the whole ``dyn.simulate`` (501 snapshots, QE and TE measured at 51 of them; target >= 10x),
    measured in alternation;
(b) the forum's topographic step, 20 x 20, D = 128, batch 1024: its PyTorch code on the CPU as written
    (float32, forward + backward + SGD step) vs dyn's kernel in float64 (target >= 2x);
(c) batch-map epochs on 16,000 x 300 data, 20 x 20 map: MiniSom's ``train_batch_offline`` vs dyn
    (and somoclu's batch training when it is installed);
(d) the forum's default run end to end (300 batches, and QE, TE and the loss on the 2,000 points at 51
    of the 301 snapshots).
dyn's kernel times are warm runs of the job's kernel calls alone (sample order drawn, measures left out).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from roofline import bandwidth, line, machine  # noqa: E402
from timing import best, row  # noqa: E402


def online_counts(K, D, rows, cols):
    """(flops, bytes) of an online step (kernels.py): distances 3 K D (difference, square, sum), the scan 2 K,
    the neighbourhood row rows + cols exponentials (~20 flops each) and K products, the rate K, the update 3 K D;
    the transposed weights read twice and written once, d2 and h written and read (all in L1/L2)."""
    return 6 * K * D + 4 * K + 20 * (rows + cols), 8 * (3 * K * D + 4 * K)


def topographic_counts(B, K, D, rows, cols):
    """(flops, bytes) of a topographic step (topographic.py): the winners' product 2 B K D, the normalisations
    3 (B + K) D, the ranking 3 B K, the grouping B D, two separable spreads 2 K (rows + cols) (D + 2), the
    loss and the momentum update ~8 K D; the batch and the product G (B x K) pass through L3."""
    return (2 * B * K * D + 3 * (B + K) * D + 3 * B * K + B * D + 2 * K * (rows + cols) * (D + 2) + 8 * K * D,
            8 * (2 * B * D + 2 * B * K + 6 * K * D))


def batch_counts(n, K, D, rows, cols):
    """(flops, bytes) of a batch epoch (batch.py): the product 2 n K D, the ranking 4 n K, the sums n D, two
    separable spreads 2 K (rows + cols) (D + 1), the blend 4 K D; the data (n x D) read from memory once an
    epoch and the product's chunks (2,048 x K) written and read."""
    return (2 * n * K * D + 4 * n * K + n * D + 2 * K * (rows + cols) * (D + 1) + 4 * K * D,
            8 * (n * D + 2 * n * K + 4 * K * D))


def kernel_time_data(x, repeat=3, **options):
    from dyn.flows.som import FLOW, SomConfig

    def once():
        job = FLOW.prepare(SomConfig.from_kwargs(data="array", **options), data=x)
        job.measure = lambda *args, **kwargs: None  # the kernel alone
        t = time.perf_counter()
        job.advance(0, job.frames, job.inputs(0, job.frames))
        return time.perf_counter() - t

    once()
    return min(once() for _ in range(repeat))


def end_to_end(x, steps, MiniSom, rounds=5):
    """Seconds of MiniSom's ``train`` (None without MiniSom) and of the whole ``dyn.simulate`` on the same work
    (20 x 20, the same data and defaults), in alternation, best of each."""
    import dyn

    def dyn_run():
        t = time.perf_counter()
        dyn.simulate("som", rule="online", rows=20, cols=20, steps=steps, data=x)
        return time.perf_counter() - t

    def minisom_run():
        som = MiniSom(20, 20, x.shape[1], sigma=1.0, learning_rate=0.5, random_seed=0)
        t = time.perf_counter()
        som.train(x, steps)
        return time.perf_counter() - t

    dyn_run()
    t_ms, t_dyn = np.inf, np.inf
    for _ in range(rounds):
        if MiniSom:
            t_ms = min(t_ms, minisom_run())
        t_dyn = min(t_dyn, dyn_run())
    return (t_ms if MiniSom else None), t_dyn


def forum_step(steps=20):
    """The forum's code as written (float32, CPU): a function running ``steps`` batches (forward, loss,
    backward, SGD step each)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Topography(nn.Module):
        def __init__(self, latent_dim=128, height=20, width=20, p_norm=2):
            super().__init__()
            self.latent_dim, self.height, self.width, self.p_norm = latent_dim, height, width, p_norm
            locs = np.array(list(np.array([i, j]) for i in range(self.height) for j in range(self.width)))
            self.locations = torch.from_numpy(locs).to(torch.float32)
            self.lin_wts = nn.Parameter(data=torch.empty(self.height * self.width, self.latent_dim),
                                        requires_grad=True)
            self.lin_wts.data.normal_(mean=0.0, std=1 / np.sqrt(self.latent_dim))

        def forward(self, z):
            z = F.normalize(z, p=self.p_norm, dim=1)
            pairwise_squaredl2dist = torch.square(torch.cdist(x1=z, x2=F.normalize(input=self.lin_wts,
                                                              p=self.p_norm, dim=1), p=self.p_norm))
            closest_indices = torch.argmin(pairwise_squaredl2dist, dim=1)
            closest_2d_indices = self.locations[closest_indices]
            l2_dist_squared_topo_neighb = torch.square(torch.cdist(x1=closest_2d_indices.to(torch.float32),
                                                                   x2=self.locations, p=self.p_norm))
            return l2_dist_squared_topo_neighb, pairwise_squaredl2dist

    torch.manual_seed(0)
    layer = Topography()
    optimizer = torch.optim.SGD(params=layer.parameters(), lr=0.001, momentum=0.9)
    batches = [torch.rand(1024, 128) for _ in range(steps)]

    def run():
        for z in batches:
            optimizer.zero_grad()
            l2_dist_squared_topo_neighb, pairwise_squaredl2dist = layer(z)
            curr_sigma = torch.tensor(5.0)
            topo_neighb = torch.exp(torch.div(torch.neg(l2_dist_squared_topo_neighb),
                                              ((2.0 * torch.square(curr_sigma)) + 1e-5)))
            loss_topo = (topo_neighb * pairwise_squaredl2dist).sum(dim=1).mean()
            loss_topo.backward()
            optimizer.step()

    run()
    return run


def topographic_pair(rounds=7, steps=20):
    """Seconds per step of the forum's code and of dyn's kernel, measured in alternation (best of each):
    the machine is shared, so both sides see the same moments."""
    from dyn.flows.som import FLOW, SomConfig

    z = np.random.default_rng(1).random((1024 * steps, 128))
    cfg = SomConfig.from_kwargs(rule="topographic", steps=steps, record_every=steps, data="array")

    def dyn_run():
        job = FLOW.prepare(cfg, data=z)
        job.measure = lambda *args, **kwargs: None  # the kernel alone
        t = time.perf_counter()
        job.advance(0, job.frames, job.inputs(0, job.frames))
        return time.perf_counter() - t

    try:
        torch_run = forum_step(steps)
    except ImportError:
        torch_run = None
        print("torch not installed: forum row skipped")
    dyn_run()
    t_torch, t_dyn = np.inf, np.inf
    for _ in range(rounds):
        if torch_run:
            t = time.perf_counter()
            torch_run()
            t_torch = min(t_torch, time.perf_counter() - t)
        t_dyn = min(t_dyn, dyn_run())
    return (t_torch / steps if torch_run else None), t_dyn / steps


def main():
    import numba

    print(f"machine: {os.cpu_count()} cores; numba threads {numba.get_num_threads()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    try:
        from minisom import MiniSom
    except ImportError:
        MiniSom = None
        print("minisom not installed: MiniSom rows skipped (pip install minisom==2.3.6)")

    # (a) online
    steps = 20000
    x = np.random.default_rng(0).uniform(-1, 1, (2000, 2))
    t_dyn = kernel_time_data(x, rule="online", rows=20, cols=20, steps=steps)
    t_ms = None
    if MiniSom:
        som = MiniSom(20, 20, 2, sigma=1.0, learning_rate=0.5, random_seed=0)
        t_ms = best(lambda: som.train(x, 4000), repeat=1) * steps / 4000
        row("(a) MiniSom train, 20x20, D=2, 20,000 samples", t_ms)
    row("(a) dyn online, same, kernel", t_dyn, t_ms, ">= 20x")
    peaks = machine()
    print(f"  {peaks}")
    line("online 20x20, D = 2", *online_counts(400, 2, 20, 20), steps, t_dyn, peaks.one,
         bound="each step's scan for the winner depends on all its distances: latency, not flops")
    t_ms_all, t_all = end_to_end(x, steps, MiniSom)
    if t_ms_all:
        row("(a) MiniSom train, the same, timed beside the next row", t_ms_all)
    row("(a) dyn.simulate, the same: 501 snapshots, QE + TE at 51", t_all, t_ms_all, ">= 10x")

    # (b) topographic step
    t_torch, t_topo = topographic_pair()
    if t_torch:
        row("(b) forum's PyTorch step (float32, CPU), 20x20 D=128 B=1024", t_torch)
    row("(b) dyn topographic step (float64)", t_topo, t_torch, ">= 2x")
    flops, nbytes = topographic_counts(1024, 400, 128, 20, 20)
    line("topographic 20x20, D = 128, B = 1024 (np.dot: BLAS on all threads)", flops, nbytes, 1, t_topo, peaks.every,
         bandwidth(peaks, nbytes))

    # (c) batch map
    big = np.random.default_rng(2).random((16000, 300))
    epochs = 3
    t_batch = kernel_time_data(big, repeat=1, rule="batch", rows=20, cols=20, steps=epochs) / epochs
    t_off = None
    if MiniSom:
        som = MiniSom(20, 20, 300, sigma=1.0, learning_rate=0.5, random_seed=0)
        t_off = best(lambda: som.train_batch_offline(big, 1), repeat=1)
        row("(c) MiniSom train_batch_offline, 16000x300, 20x20, /epoch", t_off)
    try:
        import somoclu

        s = somoclu.Somoclu(20, 20, compactsupport=False, initialization="random")
        t_sc = best(lambda: s.train(big.astype(np.float32), epochs=epochs), repeat=1) / epochs
        row("(c) somoclu batch training, /epoch", t_sc)
    except ImportError:
        print("somoclu not installed: its row skipped")
    except Exception as err:  # somoclu installs without its compiled library where the build fails
        print(f"somoclu cannot train here ({type(err).__name__}): its row skipped")
    row("(c) dyn batch map, /epoch", t_batch, t_off)
    flops, nbytes = batch_counts(16000, 400, 300, 20, 20)
    line("batch epoch 20x20, n = 16,000, D = 300 (np.dot: BLAS on all threads)", flops, nbytes, 1, t_batch, peaks.every,
         bandwidth(peaks, nbytes))

    # (d) the forum's default run end to end in Python: 300 batches, measures on 301 snapshots
    import dyn

    dyn.simulate("som", rule="topographic", steps=2)
    t_topo = best(lambda: dyn.simulate("som", rule="topographic"), repeat=1)
    row("(d) dyn.simulate('som', rule='topographic'): QE, TE, loss at 51", t_topo)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
