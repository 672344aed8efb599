#!/usr/bin/python3
"""PyTorch reference for `descent bench step`: the same preset models, batch and step (forward and loss,
under torch.autocast("cpu", torch.bfloat16) for --precision bf16, backward, the optimizer step), timed the
same way (median over timed steps after warm-up). Runs with one thread and with all threads, with the
optimizer's for-loop and foreach implementations, and reports each and the best, so descent is compared
against PyTorch at its best."""
import argparse
import json
import os
import statistics
import time

import torch
from torch import nn


class Sequence(nn.Module):
    """An image [N, 1, 28, 28] read as 28 steps of 28 features, as descent's sequence models do."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        if kind == "lstm":  # descent's lstm defaults: hidden_size 64, one layer, the last step's output
            self.lstm = nn.LSTM(28, 64, batch_first=True)
            self.head = nn.Linear(64, 10)
        else:  # transformer defaults: d_model 64, 4 heads, feed-forward 128, one pre-norm layer
            self.embed = nn.Linear(28, 64)
            self.position = nn.Parameter(torch.randn(28, 64) * 0.02)
            layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(64)
            self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = x.reshape(x.shape[0], 28, 28)
        if self.kind == "lstm":
            return self.head(self.lstm(x)[0][:, -1])
        x = self.embed(x) + self.position
        return self.head(self.norm(self.encoder(x).mean(1)))


def build(model, batch, gen):
    image = (batch, 1, 28, 28)
    if model == "simplenet":
        net = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
        x = torch.rand(batch, 1, generator=gen) * 2 - 1
        y = torch.rand(batch, 1, generator=gen) * 2 - 1
        return net, x, y, torch.nn.functional.mse_loss
    if model == "mlp":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                            nn.Linear(256, 10))
    elif model == "cnn":
        net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    elif model == "cnn2c2d":
        net = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Linear(1024, 10))
    else:
        net = Sequence(model)
    x = torch.rand(*image, generator=gen) * 2 - 1
    y = torch.randint(0, 10, (batch,), generator=gen)
    return net, x, y, torch.nn.functional.cross_entropy


def make_optimizer(name, params, foreach):
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=foreach)
    return torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01, foreach=foreach)


def time_steps(args, threads):
    torch.set_num_threads(threads)
    best = None
    for foreach in (False, True):
        gen = torch.Generator().manual_seed(0)
        torch.manual_seed(0)
        net, x, y, loss_fn = build(args.model, args.batch, gen)
        opt = make_optimizer(args.optimizer, net.parameters(), foreach)

        def step():
            opt.zero_grad()
            if args.precision == "bf16":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    loss = loss_fn(net(x), y)
            else:
                loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()

        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1e3)
        median = statistics.median(times)
        if best is None or median < best[0]:
            best = (median, foreach)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="simplenet",
                        choices=["simplenet", "mlp", "cnn", "cnn2c2d", "lstm", "transformer"])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--optimizer", default="adamw", choices=["adamw", "sgd"])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    results = {}
    for threads in sorted({1, cores}):
        median, foreach = time_steps(args, threads)
        results[threads] = {"ms_per_step": median, "foreach": foreach}
    best_threads = min(results, key=lambda t: results[t]["ms_per_step"])
    print(json.dumps({"benchmark": "torch_step", "model": args.model, "precision": args.precision,
                      "optimizer": args.optimizer, "batch": args.batch, "torch": torch.__version__,
                      "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
                      "by_threads": results, "ms_per_step": results[best_threads]["ms_per_step"],
                      "threads": best_threads}))


if __name__ == "__main__":
    main()
