"""fastai peer of `cargo xtask bench serve`: the latency of `learn.predict` on one 224x224 image,
one call at a time, in process (no HTTP, no batching). A vision_learner(resnet18, pretrained=False)
on a tiny dls of the photos (one class a photo), exported and loaded back with load_learner.
Usage: python fastai_predict_latency.py PHOTOS_DIR IMAGE [n_calls]"""
import sys, time, tempfile, numpy as np
from fastai.vision.all import *
from PIL import Image

photos, image = Path(sys.argv[1]), Path(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 100
set_seed(42, reproducible=True); torch.set_num_threads(2)

def stem(p): return p.stem

files = sorted(p for p in photos.iterdir() if p.suffix.lower() in ('.png', '.jpg', '.jpeg'))
block = DataBlock(blocks=(ImageBlock, CategoryBlock(vocab=[stem(p) for p in files])), get_y=stem,
                  splitter=IndexSplitter([0]), item_tfms=Resize(224))
dls = block.dataloaders(files, bs=4, device='cpu')
learn = vision_learner(dls, resnet18, pretrained=False)
with tempfile.TemporaryDirectory() as d:
    learn.export(Path(d) / 'export.pkl')
    learn = load_learner(Path(d) / 'export.pkl', cpu=True)
img = PILImage.create(np.array(Image.open(image).convert('RGB').resize((224, 224), Image.BILINEAR)))
ms = []
with learn.no_bar():
    learn.predict(img)  # warm-up, as the Rust side sends one request first
    t0 = time.time()
    for _ in range(n):
        t = time.perf_counter(); learn.predict(img); ms.append((time.perf_counter() - t) * 1e3)
    wall = time.time() - t0
ms.sort()
pct = lambda p: ms[min(len(ms), max(1, int(np.ceil(p / 100 * len(ms))))) - 1]
print(f"fastai predict resnet18 n={n} p50_ms={pct(50):.1f} p99_ms={pct(99):.1f} wall_s={wall:.2f}")
