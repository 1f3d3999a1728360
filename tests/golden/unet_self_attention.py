"""Golden parameter counts of fastai's DynamicUnet with self-attention.

Run with the peer environment (fastai 2.8):  python unet_self_attention.py > unet_self_attention.json
`unet_learner(dls, resnet18, pretrained=False, n_out=11, self_attention=True)` builds this model on
64×64 images: the resnet18 body cut by `create_body`, then `DynamicUnet(..., self_attention=True)`.
The plain U-Net's count (self_attention=False) is printed beside it, and the attention layer's
own shapes, so a mismatch says which part differs.
"""
import json
from fastai.vision.all import DynamicUnet, create_body, resnet18, SelfAttention


def count(m):
    return sum(p.numel() for p in m.parameters())


out = {"arch": "resnet18", "pretrained": False, "n_out": 11, "img_size": [64, 64]}
for sa in (False, True):
    m = DynamicUnet(create_body(resnet18(), pretrained=False), 11, (64, 64), self_attention=sa)
    out["params_self_attention" if sa else "params_plain"] = count(m)
    if sa:
        layers = [(name, mod) for name, mod in m.named_modules() if isinstance(mod, SelfAttention)]
        name, att = layers[0]
        out["attention_module"] = name
        out["attention_channels"] = att.value[0].weight_orig.shape[0]
        out["attention_params"] = count(att)
print(json.dumps(out, indent=1))
