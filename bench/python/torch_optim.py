#!/usr/bin/python3
"""PyTorch reference for `descent bench optim`: one optimizer step over N float32 parameters split into T
tensors, gradients fixed, timed as the median over S steps. Tries the for-loop and the foreach
implementations with one thread and with all threads and reports every figure and the best."""
import argparse
import json
import os
import statistics
import time

import torch

ALGOS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-3),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
}


def run(algo, params, tensors, steps, threads, foreach):
    torch.set_num_threads(threads)
    sizes = [params // tensors + (1 if i < params % tensors else 0) for i in range(tensors)]
    ps = [torch.nn.Parameter(torch.randn(n)) for n in sizes]
    for p in ps:
        p.grad = torch.randn_like(p) * 1e-3
    kwargs = {}
    opt = ALGOS[algo](ps)
    for group in opt.param_groups:
        group["foreach"] = foreach
    for _ in range(3):
        opt.step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        opt.step()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--algo", default="adamw", choices=sorted(ALGOS))
    parser.add_argument("--params", type=int, default=10_000_000)
    parser.add_argument("--tensors", type=int, default=20)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    results = {}
    for threads in sorted({1, os.cpu_count() or 1}):
        for foreach in (False, True):
            results[f"threads={threads},foreach={foreach}"] = run(args.algo, args.params, args.tensors, args.steps,
                                                                  threads, foreach)
    best = min(results, key=results.get)
    print(json.dumps({"benchmark": "torch_optim", "algo": args.algo, "params": args.params, "tensors": args.tensors,
                      "torch": torch.__version__, "variants_ms": results, "best": best,
                      "ms_per_step": results[best]}))


if __name__ == "__main__":
    main()
