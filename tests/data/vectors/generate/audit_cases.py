#!/usr/bin/python3
"""Reference cases for the upstream divergences found by reading PyTorch 2.11 and Optax 0.2.8.

Run from the repository root:  /usr/bin/python3 tests/data/vectors/generate/audit_cases.py
It rewrites the files named audit_* under tests/data/vectors/{schedule,optim,clip,scaler}.

Where Debian's torch (1.13) runs the same code path as 2.11 (schedulers, SGD, Rprop, L-BFGS,
clip_grad_norm_/clip_grad_value_), the values come from torch itself. Where it lacks the algorithm
(Adafactor, the CPU GradScaler kernel, Optax), they come from the upstream formula written out below
in float64 (or in float32 where upstream computes in float32), step for step. Each case also asserts
the handful of numbers quoted in the semantics audit, so a wrong generator cannot write a file.
"""
import json
import math
import os

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TORCH = f"torch {torch.__version__} (code path identical to 2.11)"


def write(kind, name, case):
    path = os.path.join(ROOT, kind, f"audit_{name}.json")
    with open(path, "w") as f:
        json.dump(case, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")


def number(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def near(got, want, tol=1e-5):
    assert len(got) >= len(want), (got, want)
    for g, w in zip(got, want):
        assert abs(g - w) <= tol * max(1.0, abs(w)), (got, want)


# ---------------------------------------------------------------- schedules
def torch_rates(make, steps, base=0.1, momentum=0.9):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base, momentum=momentum)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    return lrs, moms


def schedule_case(name, descent_name, options, lrs, base=0.1, reference=TORCH, momentum=None):
    case = {"schedule": descent_name, "options": options, "base_lr": base, "steps": len(lrs),
            "expected_lr": lrs, "reference": reference, "rtol": 1e-6, "atol": 1e-12}
    if momentum is not None:
        case["expected_momentum"] = momentum
        case["base_momentum_group"] = 0.9
    write("schedule", name, case)


def schedules():
    lr_sched = torch.optim.lr_scheduler
    steps = 14
    factors = [1.0 / (t + 1) for t in range(steps + 1)]
    inverse = lambda t: 1.0 / (t + 1)

    lrs, _ = torch_rates(lambda o: lr_sched.ChainedScheduler(
        [lr_sched.LambdaLR(o, inverse), lr_sched.ExponentialLR(o, 0.5)]), steps)
    near(lrs, [.1, .025, .1 / 6, .0125, .01])
    schedule_case("chained_lambda_exponential", "chained_lambda_exponential",
                  {"schedulers": [["lambdalr", {"factors": factors}], ["exponentiallr", {"gamma": 0.5}]]}, lrs)

    lrs, _ = torch_rates(lambda o: lr_sched.ChainedScheduler(
        [lr_sched.ExponentialLR(o, 0.5), lr_sched.LambdaLR(o, inverse)]), steps)
    near(lrs, [.1, .05, .1 / 3, .025, .02])
    schedule_case("chained_exponential_lambda", "chained_exponential_lambda",
                  {"schedulers": [["exponentiallr", {"gamma": 0.5}], ["lambdalr", {"factors": factors}]]}, lrs)

    cyclic = {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "cycle_momentum": False}
    lrs, _ = torch_rates(lambda o: lr_sched.ChainedScheduler(
        [lr_sched.CyclicLR(o, 0.01, 0.1, step_size_up=2, cycle_momentum=False),
         lr_sched.ExponentialLR(o, 0.5)]), steps)
    near(lrs, [.01, .0275, .05, .0275, .005])
    schedule_case("chained_cyclic_exponential", "chained_cyclic_exponential",
                  {"schedulers": [["cycliclr", cyclic], ["exponentiallr", {"gamma": 0.5}]]}, lrs)

    lrs, _ = torch_rates(lambda o: lr_sched.ChainedScheduler(
        [lr_sched.CosineAnnealingWarmRestarts(o, T_0=3), lr_sched.StepLR(o, 2, 0.5)]), steps)
    near(lrs, [.1, .075, .0125, .1, .0375])
    schedule_case("chained_warmrestarts_step", "chained_warmrestarts_step",
                  {"schedulers": [["cosineannealingwarmrestarts", {"T_0": 3}],
                                  ["steplr", {"step_size": 2, "gamma": 0.5}]]}, lrs)

    lrs, _ = torch_rates(lambda o: lr_sched.ChainedScheduler(
        [lr_sched.StepLR(o, 3, 0.5), lr_sched.CosineAnnealingLR(o, T_max=10),
         lr_sched.MultiStepLR(o, [4, 9], 0.3)]), steps)
    schedule_case("chained_step_cosine_multistep", "chained_step_cosine_multistep",
                  {"schedulers": [["steplr", {"step_size": 3, "gamma": 0.5}], ["cosineannealinglr", {"T_max": 10}],
                                  ["multisteplr", {"milestones": [4, 9], "gamma": 0.3}]]}, lrs)

    lrs, _ = torch_rates(lambda o: lr_sched.ConstantLR(o, factor=0.5, total_iters=0), 8)
    near(lrs, [0.05] * 8)
    schedule_case("constantlr_zero_iters", "constantlr", {"factor": 0.5, "total_iters": 0}, lrs)

    lrs, moms = torch_rates(lambda o: lr_sched.CyclicLR(o, 0.0, 1.0, step_size_up=4, step_size_down=0), 12)
    near(lrs, [0, .25, .5, .75, 0, .25])
    schedule_case("cycliclr_no_down", "cycliclr",
                  {"base_lr": 0.0, "max_lr": 1.0, "step_size_up": 4, "step_size_down": 0}, lrs, momentum=moms)

    # optax.piecewise_constant_schedule: scale i applies once count >= boundaries[i] (Optax 0.2.8,
    # optax/schedules/_schedule.py); written out here because Debian has no Optax.
    boundaries, scales = [2, 4], [0.5, 0.1]
    lrs = []
    for t in range(8):
        v = 1.0
        for b, s in zip(boundaries, scales):
            if t >= b:
                v *= s
        lrs.append(v)
    near(lrs, [1, 1, .5, .5, .05, .05])
    schedule_case("piecewise_constant_boundaries", "piecewise_constant",
                  {"boundaries": boundaries, "scales": scales}, lrs, base=1.0,
                  reference="optax 0.2.8 piecewise_constant_schedule (formula)")


# ---------------------------------------------------------------- optimizers
def optim_case(name, optimizer, options, params, expected, dtype, reference, grads=None, closure=None,
               set_=None, rtol=1e-6, atol=1e-9):
    case = {"optimizer": optimizer, "options": options, "reference": reference, "dtype": dtype,
            "shapes": [list(np.shape(p)) for p in params], "params": [[number(x) for x in np.ravel(p)] for p in params]}
    if grads is not None:
        case["grads"] = [[[number(x) for x in np.ravel(g)] for g in step] for step in grads]
    if closure is not None:
        case["closure"] = {"function": closure}
    if set_ is not None:
        case["set"] = set_
    case["expected"] = [[[number(x) for x in np.ravel(p)] for p in step] for step in expected]
    case.update({"rtol": rtol, "atol": atol})
    write("optim", name, case)


def run_torch(make, params, grads, set_=None):
    ps = [torch.tensor(p, dtype=torch.float32, requires_grad=True) for p in params]
    opt = make(ps)
    out = []
    for s, step in enumerate(grads):
        if set_ is not None:
            for g in opt.param_groups:
                g.update(set_[s])
        for p, g in zip(ps, step):
            p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        out.append([p.detach().numpy().copy() for p in ps])
    return out


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def run_lbfgs(options, steps):
    x = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([x], **options)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        opt.step(closure)
        out.append([x.detach().numpy().copy()])
    return out


def adafactor_1d(p, grads, lr=1e-2, beta2_decay=-0.8, eps2=1e-3, d=1.0):
    """torch/optim/_adafactor.py _single_tensor_adafactor for a vector, eps1 = finfo(float64).eps."""
    p = np.array(p, dtype=np.float64)
    eps1 = np.finfo(np.float64).eps
    variance = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        g = np.array(g[0], dtype=np.float64)
        one_minus_beta2_t = t ** beta2_decay
        rho = min(lr, 1 / math.sqrt(t))
        alpha = max(eps2, np.linalg.norm(p) / math.sqrt(p.size)) * rho
        variance = variance + (g * g - variance) * one_minus_beta2_t
        update = 1 / np.sqrt(np.maximum(variance, eps1 * eps1)) * g
        denom = max(1.0, np.linalg.norm(update) / (math.sqrt(update.size) * d))
        p = p - alpha / denom * update
        out.append([p.copy()])
    return out


def adabelief_nesterov(params, grads, lr, b1, b2, eps, eps_root):
    """optax.scale_by_belief(nesterov=True) then scale(-lr), in float32 as Optax computes it."""
    f = np.float32
    ps = [np.array(p, dtype=f) for p in params]
    mu = [np.zeros_like(p) for p in ps]
    nu = [np.zeros_like(p) for p in ps]
    out = []
    for t, step in enumerate(grads, start=1):
        for i, g in enumerate(step):
            g = np.array(g, dtype=f)
            mu[i] = f(1 - b1) * g + f(b1) * mu[i]
            error = g - mu[i]
            nu[i] = f(1 - b2) * error * error + f(b2) * nu[i] + f(eps_root)
            mu_hat = f(b1) * (mu[i] / f(1 - f(b1) ** (t + 1))) + f(1 - b1) * (g / f(1 - f(b1) ** t))
            nu_hat = nu[i] / f(1 - f(b2) ** t)
            ps[i] = ps[i] + f(-lr) * (mu_hat / (np.sqrt(nu_hat) + f(eps)))
        out.append([p.copy() for p in ps])
    return out


def optimizers():
    # Rprop: torch.sign(nan) is 0, so a NaN element takes factor 1 and does not move.
    grads = [[[1.0, 1.0]], [[math.nan, 1.0]], [[1.0, 1.0]]]
    out = run_torch(lambda ps: torch.optim.Rprop(ps, lr=0.01), [[1.0, 1.0]], grads)
    near([s[0][0] for s in out], [0.99, 0.99, 0.98])
    optim_case("rprop_nan_gradient", "rprop", {"lr": 0.01}, [[1.0, 1.0]], out, "float32", TORCH + " torch.optim.Rprop",
               grads=grads, rtol=1e-6, atol=1e-8)

    # SGD: the momentum buffer starts at the first step that has momentum != 0.
    grads = [[[1.0]]] * 4
    set_ = [{"momentum": 0.0}, {"momentum": 0.9}, {"momentum": 0.9}, {"momentum": 0.5}]
    out = run_torch(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.0, dampening=0.5), [[1.0]], grads, set_)
    near([s[0][0] for s in out], [0.9, 0.8, 0.66])
    optim_case("sgd_momentum_switched_on", "sgd", {"lr": 0.1, "momentum": 0.0, "dampening": 0.5}, [[1.0]], out,
               "float32", TORCH + " torch.optim.SGD", grads=grads, set_=set_, rtol=1e-6, atol=1e-8)

    # Adafactor float64: eps1 defaults to the parameter dtype's epsilon.
    rng = np.random.default_rng(15)
    grads = [[[1e-9, 2e-9, -1e-9, 3e-9]]] + [[list(rng.normal(0, 1e-8, 4))] for _ in range(5)]
    out = adafactor_1d([1.0, 2.0, 3.0, 4.0], grads)
    near([out[0][0][0]], [0.972614])
    optim_case("adafactor_float64_eps", "adafactor", {}, [[1.0, 2.0, 3.0, 4.0]], out, "float64",
               "torch 2.11 torch.optim.Adafactor (formula of _single_tensor_adafactor)", grads=grads,
               rtol=1e-10, atol=1e-12)

    # L-BFGS strong Wolfe: the line search always uses tolerance_change 1e-9.
    options = {"lr": 1.0, "line_search_fn": "strong_wolfe", "tolerance_change": 1.0}
    out = run_lbfgs(options, 3)
    near(list(out[0][0]), [-1.41726, 2.02669])
    optim_case("lbfgs_strong_wolfe_tolerance", "lbfgs", options, [[-1.5, 2.0]], out, "float64",
               TORCH + " torch.optim.LBFGS", closure="rosenbrock", rtol=1e-9, atol=1e-12)
    options = {"lr": 1.0, "line_search_fn": "strong_wolfe", "history_size": 5, "max_iter": 10}
    out = run_lbfgs(options, 4)
    optim_case("lbfgs_strong_wolfe", "lbfgs", options, [[-1.5, 2.0]], out, "float64",
               TORCH + " torch.optim.LBFGS", closure="rosenbrock", rtol=1e-9, atol=1e-12)
    options = {"lr": 0.002, "max_iter": 8}
    out = run_lbfgs(options, 3)
    optim_case("lbfgs_fixed_step", "lbfgs", options, [[-1.5, 2.0]], out, "float64",
               TORCH + " torch.optim.LBFGS", closure="rosenbrock", rtol=1e-9, atol=1e-12)

    # AdaBelief with Nesterov momentum (optax 0.2.8 adabelief(nesterov=True)).
    rng = np.random.default_rng(16)
    params = [rng.normal(size=5).astype(np.float32), rng.normal(size=3).astype(np.float32)]
    grads = [[rng.normal(size=5).astype(np.float32), rng.normal(size=3).astype(np.float32)] for _ in range(25)]
    lr, b1, b2 = 0.01, 0.9, 0.99
    out = adabelief_nesterov(params, grads, lr, b1, b2, 1e-16, 1e-16)
    optim_case("adabelief_nesterov", "adabelief",
               {"lr": lr, "betas": [b1, b2], "eps": 1e-16, "eps_root": 1e-16, "nesterov": True}, params, out,
               "float32", "optax 0.2.8 scale_by_belief(nesterov=True) (formula, float32)", grads=grads,
               rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- clipping
def clip_case(name, grads, mode, value, norm_type=2.0):
    ts = [torch.tensor(g, dtype=torch.float32, requires_grad=True) for g in grads]
    for t, g in zip(ts, grads):
        t.grad = torch.tensor(g, dtype=torch.float32)
    case = {"shapes": [list(np.shape(g)) for g in grads], "grads": [list(np.ravel(g).astype(float)) for g in grads],
            "reference": TORCH, "clip": mode}
    if mode == "norm":
        total = torch.nn.utils.clip_grad_norm_(ts, value, norm_type)
        case.update({"max_norm": value, "norm_type": number(norm_type), "expected_total_norm": float(total)})
    else:
        torch.nn.utils.clip_grad_value_(ts, value)
        case["clip_value"] = value
    case["expected"] = [[float(x) for x in t.grad.numpy().ravel()] for t in ts]
    case.update({"rtol": 1e-5, "atol": 1e-7})
    write("clip", name, case)
    return case


def clipping():
    c = clip_case("clip_norm_order_zero", [[1.0, 0.0], [0.0, 3.0]], "norm", 1.0, 0.0)
    assert c["expected_total_norm"] == 2.0, c
    near(c["expected"][0] + c["expected"][1], [0.5, 0.0, 0.0, 1.5])
    c = clip_case("clip_norm_minus_inf", [[1.0, 0.0], [0.0, 3.0]], "norm", 1.0, -math.inf)
    assert c["expected_total_norm"] == 0.0, c
    rng = np.random.default_rng(17)
    grads = [rng.normal(size=(2, 3)).tolist(), rng.normal(size=4).tolist()]
    clip_case("clip_norm_minus_inf_nonzero", grads, "norm", 0.1, -math.inf)
    clip_case("clip_norm_negative_order", grads, "norm", 0.5, -1.5)
    clip_case("clip_norm_negative_max", grads, "norm", -1.0, 2.0)
    c = clip_case("clip_value_negative", grads, "value", -1.0)
    assert all(x == -1.0 for t in c["expected"] for x in t), c


# ---------------------------------------------------------------- GradScaler
def scaler_case(name, options, shapes, steps):
    """torch/amp/grad_scaler.py with the CPU kernels of AmpGradScalerKernels.cpp: inv_scale is
    float(1 / double(scale)); a gradient is non-finite-checked, then multiplied in float32; the update
    multiplies the float32 scale by the double factor and rounds once."""
    f = np.float32
    scale = f(options.get("init_scale", 65536.0))
    growth, backoff = options.get("growth_factor", 2.0), options.get("backoff_factor", 0.5)
    interval = options.get("growth_interval", 2000)
    tracker = 0
    out = []
    for step in steps:
        inv = f(1.0 / float(scale))
        grads = [np.array(g, dtype=f) for g in step["grads"]]
        found = False
        for group in step["unscale"]:
            for i in group:
                found = found or not np.all(np.isfinite(grads[i]))
                grads[i] = grads[i] * inv
        if found:
            scale = f(float(scale) * backoff)
            tracker = 0
        else:
            tracker += 1
            if tracker == interval:
                grown = f(float(scale) * growth)
                if np.isfinite(grown):
                    scale = grown
                tracker = 0
        out.append({"grads": [[number(x) for x in g] for g in step["grads"]], "unscale": step["unscale"],
                    "expected_found_inf": bool(found), "expected_grads": [[number(x) for x in g] for g in grads],
                    "expected_scale": float(scale)})
    write("scaler", name, {"scaler": options, "shapes": shapes, "steps": out,
                           "reference": "torch 2.11 GradScaler (formula of grad_scaler.py and its CPU kernels)",
                           "rtol": 0.0, "atol": 0.0})
    return out


def scalers():
    inf = math.inf
    steps = [{"grads": [[1.0, inf], [2.0]], "unscale": [[0, 1]]} for _ in range(3)]
    out = scaler_case("backoff_not_dyadic", {"init_scale": 65536.0, "backoff_factor": 0.9}, [[2], [1]], steps)
    assert [s["expected_scale"] for s in out] == [58982.3984375, 53084.16015625, 47775.7421875], out
    # Two optimizers share one scaler: each unscales its own parameters once per step.
    steps = [
        {"grads": [[1024.0, -512.0], [256.0]], "unscale": [[0], [1]]},
        {"grads": [[3.0, 5.0], [7.0]], "unscale": [[0], [1]]},
        {"grads": [[1.0, 2.0], [math.nan]], "unscale": [[0], [1]]},
        {"grads": [[8.0, 16.0], [32.0]], "unscale": [[1], [0]]},
        {"grads": [[0.5, 0.25], [1e30]], "unscale": [[0], [1]]},
    ]
    scaler_case("two_optimizers", {"init_scale": 1024.0, "growth_factor": 3.0, "backoff_factor": 0.25,
                                   "growth_interval": 2}, [[2], [1]], steps)


if __name__ == "__main__":
    os.makedirs(os.path.join(ROOT, "scaler"), exist_ok=True)
    schedules()
    optimizers()
    clipping()
    scalers()
