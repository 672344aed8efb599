#!/usr/bin/python3
"""PyTorch reference for `descent bench step`: the same models, batch and step (forward, loss, backward,
SGD with momentum), timed the same way (median over timed steps after warm-up). Runs with one thread and
with all threads and reports both and the best, so descent is compared against PyTorch at its best."""
import argparse
import json
import os
import statistics
import time

import torch


def build(model, batch, gen):
    if model == "simplenet":
        net = torch.nn.Sequential(torch.nn.Linear(1, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                  torch.nn.ReLU(), torch.nn.Linear(64, 1))
        x = torch.rand(batch, 1, generator=gen) * 2 - 1
        y = torch.rand(batch, 1, generator=gen) * 2 - 1
        return net, x, y, torch.nn.functional.mse_loss
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                              torch.nn.ReLU(), torch.nn.Linear(256, 10))
    x = torch.rand(batch, 784, generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)
    return net, x, y, torch.nn.functional.cross_entropy


def time_steps(model, batch, steps, warmup, threads):
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net, x, y, loss_fn = build(model, batch, gen)
    best = None
    for foreach in (False, True):
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, foreach=foreach)

        def step():
            opt.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()

        for _ in range(warmup):
            step()
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1e3)
        median = statistics.median(times)
        if best is None or median < best[0]:
            best = (median, foreach)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="simplenet", choices=["simplenet", "mlp"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    results = {}
    for threads in sorted({1, cores}):
        median, foreach = time_steps(args.model, args.batch, args.steps, args.warmup, threads)
        results[threads] = {"ms_per_step": median, "foreach": foreach}
    best_threads = min(results, key=lambda t: results[t]["ms_per_step"])
    print(json.dumps({"benchmark": "torch_step", "model": args.model, "batch": args.batch, "torch": torch.__version__,
                      "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
                      "by_threads": results, "ms_per_step": results[best_threads]["ms_per_step"],
                      "threads": best_threads}))


if __name__ == "__main__":
    main()
