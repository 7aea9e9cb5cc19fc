"""Plain-framework FNet classifiers: each backend's own limit for the same model.

The same shape and recipe as `keras_fnet.build_classifier("fnet_...")` in the
speed benchmark, written the way a user of each framework would write it
without Keras: token + segment + position embeddings, LayerNorm, a projection
and dropout; post-LayerNorm blocks `x = LN(x + Re(fft2(x)))`,
`x = LN(x + dropout(W2 gelu_tanh(W1 x)))`; a tanh pooler on the first token,
dropout, a 2-class Dense; cross-entropy on logits; AdamW (lr 1e-4, weight
decay 0.01, eps 1e-6).

    torch       torch.nn modules, torch.fft.fft2(x).real, torch.optim.AdamW, eager
    jax         jax.numpy functions, jnp.fft.fft2(x).real, optax.adamw, jax.jit
    tensorflow  tf.Variable, tf.signal.fft2d, tf.GradientTape, AdamW written out,
                tf.function(jit_compile=True)

Each class has `train()` (one optimizer step on a fixed batch, blocking) and
`infer()` (forward pass without dropout, blocking), like the Keras rows.
"""

import numpy as np

LR, WEIGHT_DECAY, EPS, BETAS, DROPOUT, LN_EPS = 1e-4, 0.01, 1e-6, (0.9, 0.999), 0.1, 1e-12


def initial_weights(spec, length, seed=0):
    """Weights as numpy arrays (normal(0.02) kernels, zero biases, unit LN scales)."""
    rng = np.random.default_rng(seed)
    h, f = spec["hidden_dim"], spec["intermediate_dim"]

    def normal(*shape):
        return (0.02 * rng.standard_normal(shape)).astype("float32")

    def zeros(n):
        return np.zeros(n, "float32")

    w = dict(token=normal(spec["vocabulary_size"], h), segment=normal(4, h),
             position=normal(length, h), emb_gamma=np.ones(h, "float32"), emb_beta=zeros(h),
             proj_w=normal(h, h), proj_b=zeros(h), pool_w=normal(h, h), pool_b=zeros(h),
             out_w=normal(h, 2), out_b=zeros(2))
    w["blocks"] = [dict(mix_gamma=np.ones(h, "float32"), mix_beta=zeros(h), w1=normal(h, f),
                        b1=zeros(f), w2=normal(f, h), b2=zeros(h), out_gamma=np.ones(h, "float32"),
                        out_beta=zeros(h))
                   for _ in range(spec["num_layers"])]
    return w


def batch(spec, length, batch_size):
    """The same fixed batch as the Keras rows: token ids, segment ids, labels."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, spec["vocabulary_size"], (batch_size, length)).astype("int32")
    segments = (np.arange(length)[None, :] >= length // 2).repeat(batch_size, 0).astype("int32")
    labels = rng.integers(0, 2, (batch_size,)).astype("int32")
    return tokens, segments, labels


class TorchFNet:
    """Plain PyTorch (eager)."""

    fourier = "torch.fft.fft2(x).real"
    jit = "eager"

    def __init__(self, spec, length, batch_size):
        import torch
        from torch import nn

        w = initial_weights(spec, length)

        def linear(weight, bias):
            layer = nn.Linear(*weight.shape)
            layer.weight.data = torch.from_numpy(weight.T.copy())
            layer.bias.data = torch.from_numpy(bias)
            return layer

        def norm():
            return nn.LayerNorm(spec["hidden_dim"], eps=LN_EPS)

        class Block(nn.Module):
            def __init__(self, b):
                super().__init__()
                self.mix_norm, self.out_norm = norm(), norm()
                self.w1, self.w2 = linear(b["w1"], b["b1"]), linear(b["w2"], b["b2"])
                self.dropout = nn.Dropout(DROPOUT)

            def forward(self, x):
                x = self.mix_norm(x + torch.fft.fft2(x.float()).real)
                ff = self.w2(nn.functional.gelu(self.w1(x), approximate="tanh"))
                return self.out_norm(x + self.dropout(ff))

        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.token = nn.Embedding.from_pretrained(torch.from_numpy(w["token"]),
                                                          freeze=False)
                self.segment = nn.Embedding.from_pretrained(torch.from_numpy(w["segment"]),
                                                            freeze=False)
                self.position = nn.Parameter(torch.from_numpy(w["position"]))
                self.norm = norm()
                self.proj = linear(w["proj_w"], w["proj_b"])
                self.blocks = nn.ModuleList(Block(b) for b in w["blocks"])
                self.pool = linear(w["pool_w"], w["pool_b"])
                self.out = linear(w["out_w"], w["out_b"])
                self.dropout = nn.Dropout(DROPOUT)

            def forward(self, tokens, segments):
                x = self.token(tokens) + self.segment(segments) + self.position[: tokens.shape[1]]
                x = self.dropout(self.proj(self.norm(x)))
                for block in self.blocks:
                    x = block(x)
                return self.out(self.dropout(torch.tanh(self.pool(x[:, 0]))))

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.autocast = spec.get("dtype", "float32") != "float32" and self.device == "cuda"
        self.model = Classifier().to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=LR, betas=BETAS, eps=EPS,
                                           weight_decay=WEIGHT_DECAY)
        tokens, segments, labels = batch(spec, length, batch_size)
        self.tokens, self.segments, self.labels = (
            torch.from_numpy(a).long().to(self.device) for a in (tokens, segments, labels))

    def _logits(self):
        # Mixed bfloat16 on a GPU, as the Keras rows' policy; FFTs stay float32.
        with self.torch.autocast(self.device, dtype=self.torch.bfloat16, enabled=self.autocast):
            return self.model(self.tokens, self.segments).float()

    def train(self):
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.torch.nn.functional.cross_entropy(self._logits(), self.labels)
        loss.backward()
        self.optimizer.step()
        loss.item()

    def infer(self):
        self.model.eval()
        with self.torch.no_grad():
            self._logits().cpu().numpy()


def _layer_norm(x, gamma, beta, mean, var, rsqrt):
    centered = x - mean(x)
    return centered * rsqrt(var(centered) + LN_EPS) * gamma + beta


class JaxFNet:
    """Plain JAX: jax.numpy functions of a weight pytree, optax AdamW, one jitted step."""

    fourier = "jnp.fft.fft2(x).real"
    jit = "jax.jit"

    def __init__(self, spec, length, batch_size):
        import jax
        import jax.numpy as jnp
        import optax

        def norm(x, gamma, beta):
            return _layer_norm(x, gamma, beta, lambda v: jnp.mean(v, -1, keepdims=True),
                               lambda v: jnp.mean(v * v, -1, keepdims=True), jax.lax.rsqrt)

        def dropout(x, key, training):
            if not training:
                return x
            return jnp.where(jax.random.bernoulli(key, 1 - DROPOUT, x.shape), x / (1 - DROPOUT), 0)

        def forward(w, tokens, segments, key, training):
            count = len(w["blocks"]) + 2
            keys = jax.random.split(key, count) if training else [None] * count
            x = w["token"][tokens] + w["segment"][segments] + w["position"][: tokens.shape[1]]
            x = dropout(norm(x, w["emb_gamma"], w["emb_beta"]) @ w["proj_w"] + w["proj_b"],
                        keys[0], training)
            for b, k in zip(w["blocks"], keys[2:]):
                x = norm(x + jnp.fft.fft2(x).real, b["mix_gamma"], b["mix_beta"])
                ff = jax.nn.gelu(x @ b["w1"] + b["b1"], approximate=True) @ b["w2"] + b["b2"]
                x = norm(x + dropout(ff, k, training), b["out_gamma"], b["out_beta"])
            pooled = dropout(jnp.tanh(x[:, 0] @ w["pool_w"] + w["pool_b"]), keys[1], training)
            return pooled @ w["out_w"] + w["out_b"]

        def loss_fn(w, tokens, segments, labels, key):
            logits = forward(w, tokens, segments, key, True)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

        optimizer = optax.adamw(LR, b1=BETAS[0], b2=BETAS[1], eps=EPS, weight_decay=WEIGHT_DECAY)

        @jax.jit
        def step(w, state, key, tokens, segments, labels):
            key, sub = jax.random.split(key)
            loss, grads = jax.value_and_grad(loss_fn)(w, tokens, segments, labels, sub)
            updates, state = optimizer.update(grads, state, w)
            return optax.apply_updates(w, updates), state, key, loss

        self.weights = jax.tree_util.tree_map(jnp.asarray, initial_weights(spec, length))
        self.state = optimizer.init(self.weights)
        self.key = jax.random.PRNGKey(0)
        self.data = tuple(jnp.asarray(a) for a in batch(spec, length, batch_size))
        self.step = step
        self.predict = jax.jit(
            lambda w, tokens, segments: forward(w, tokens, segments, None, False))

    def train(self):
        self.weights, self.state, self.key, loss = self.step(self.weights, self.state, self.key,
                                                             *self.data)
        loss.block_until_ready()

    def infer(self):
        np.asarray(self.predict(self.weights, *self.data[:2]))


class TensorFlowFNet:
    """Plain TensorFlow: tf.Variables, GradientTape, AdamW written out, XLA-compiled step."""

    fourier = "tf.math.real(tf.signal.fft2d(x))"
    jit = "tf.function(jit_compile=True)"

    def __init__(self, spec, length, batch_size):
        import tensorflow as tf

        w = initial_weights(spec, length)
        flat = {k: v for k, v in w.items() if k != "blocks"}
        for i, b in enumerate(w["blocks"]):
            flat.update({f"{i}/{k}": v for k, v in b.items()})
        self.variables = {k: tf.Variable(v, name=k.replace("/", "_")) for k, v in flat.items()}
        self.moments = {k: (tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v)))
                        for k, v in self.variables.items()}
        self.iteration = tf.Variable(0.0)
        num_layers = spec["num_layers"]

        def norm(x, gamma, beta):
            return _layer_norm(x, gamma, beta, lambda v: tf.reduce_mean(v, -1, keepdims=True),
                               lambda v: tf.reduce_mean(v * v, -1, keepdims=True), tf.math.rsqrt)

        def dropout(x, training):
            return tf.nn.dropout(x, DROPOUT) if training else x

        def forward(tokens, segments, training):
            v = self.variables
            x = (tf.gather(v["token"], tokens) + tf.gather(v["segment"], segments)
                 + v["position"][: tokens.shape[1]])
            x = dropout(norm(x, v["emb_gamma"], v["emb_beta"]) @ v["proj_w"] + v["proj_b"],
                        training)
            for i in range(num_layers):
                b = {k: v[f"{i}/{k}"] for k in w["blocks"][0]}
                mixed = tf.math.real(tf.signal.fft2d(tf.complex(x, tf.zeros_like(x))))
                x = norm(x + mixed, b["mix_gamma"], b["mix_beta"])
                ff = tf.nn.gelu(x @ b["w1"] + b["b1"], approximate=True) @ b["w2"] + b["b2"]
                x = norm(x + dropout(ff, training), b["out_gamma"], b["out_beta"])
            pooled = dropout(tf.tanh(x[:, 0] @ v["pool_w"] + v["pool_b"]), training)
            return pooled @ v["out_w"] + v["out_b"]

        @tf.function(jit_compile=True)
        def step(tokens, segments, labels):
            with tf.GradientTape() as tape:
                logits = forward(tokens, segments, True)
                loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
            names = list(self.variables)
            grads = tape.gradient(loss, [self.variables[k] for k in names])
            self.iteration.assign_add(1.0)
            t = self.iteration
            for name, g in zip(names, grads):
                var, (m, s) = self.variables[name], self.moments[name]
                g = tf.convert_to_tensor(g)  # Embedding gradients arrive as IndexedSlices.
                m.assign(BETAS[0] * m + (1 - BETAS[0]) * g)
                s.assign(BETAS[1] * s + (1 - BETAS[1]) * g * g)
                m_hat, s_hat = m / (1 - BETAS[0] ** t), s / (1 - BETAS[1] ** t)
                var.assign(var - LR * (m_hat / (tf.sqrt(s_hat) + EPS) + WEIGHT_DECAY * var))
            return loss

        self.step = step
        self.predict = tf.function(lambda tokens, segments: forward(tokens, segments, False),
                                   jit_compile=True)
        tokens, segments, labels = batch(spec, length, batch_size)
        self.data = tf.constant(tokens), tf.constant(segments), tf.constant(labels)

    def train(self):
        self.step(*self.data).numpy()

    def infer(self):
        self.predict(*self.data[:2]).numpy()


BY_BACKEND = {"torch": TorchFNet, "jax": JaxFNet, "tensorflow": TensorFlowFNet}
