"""Generation, pairs, reward-model training, scoring, the registry and serving.

transformers 5 loads weights on a thread pool by default and turns an error in a worker into a parameter left
on the meta device (logged as a warning only). A fresh-clone CI run once converted the bundled SmolLM2 with its
49152x576 embedding left so, and failed saving it. The models here are small: they load in order, which
transformers reads from this variable at each load.
"""

import os

os.environ.setdefault("HF_DEACTIVATE_ASYNC_LOAD", "1")
