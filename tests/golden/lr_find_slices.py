"""Golden lr_find suggestions as fastai's `lr_find` computes them in production: on the
recorder's curve sliced to `[num_it // 10 : -5]`, with `num_it` passed to each function.

Run with the peer environment (fastai 2.8.12):  python lr_find_slices.py > lr_find_slices.json
Three curves of 100 points, 1e-7 to 10: the typical curve of ../shared/peer/golden.py; one whose
loss falls from the first point of the slice (the longest falling run starts at index 0); and
one that falls for one step, then rises (valley's index lands on -1: Python reads the last point).
"""
import json
import torch
from fastai.callback.schedule import valley, slide, minimum, steep

n = 100
lrs = torch.tensor([1e-7 * (10 / 1e-7) ** (i / (n - 1)) for i in range(n)])
ll = torch.log10(lrs)
i = torch.arange(n, dtype=torch.float32)
curves = {
    "typical": 2.3 - 1.5 / (1 + torch.exp(-(ll + 3) * 2)) + torch.relu(ll + 1) ** 2 * 0.8 + 0.01 * torch.sin(i * 1.7),
    "falls_from_start": 3.0 - 0.02 * i + torch.relu(i - 80.0) ** 2 * 0.05,
    "falls_once_then_rises": torch.where(i < 11, 5.0 - i * 0.1, 1.0 + (i - 11) * 0.05),
}
out = {"num_it": n, "lrs": lrs.tolist(), "curves": {}}
for name, losses in curves.items():
    sl, ss = lrs[n // 10:-5], losses[n // 10:-5]
    sugg = {}
    for fn in (valley, slide, minimum, steep):
        r = fn(sl, ss, n)
        sugg[fn.__name__] = float(r[0]) if not isinstance(r[0], tuple) else float(r[0][0])
    out["curves"][name] = {"losses": losses.tolist(), "suggestions": sugg}
print(json.dumps(out))
