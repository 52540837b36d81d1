"""The whole language model in NumPy: forward, loss and backward.

Embedding (or one-hot input) -> stacked recurrent layers -> dropout on each layer's output
-> linear output layer -> softmax cross-entropy. `params` follow the one schema
(rnntext.model.parameters: PyTorch's names and shapes), so a run's weights load straight into them.

Ids come in batch-major, x: (B, T), and logits go out as (B, T, V); in between everything
is time-major (T, B, ...) so that the time loop reads contiguous slices.
"""

from __future__ import annotations

import numpy as np

from rnntext import cells


def zero_state(model_cfg, batch_size: int, dtype=np.float32) -> list:
    """Initial state: per layer h (B, H_k), or a tuple of the cell's parts such as LSTM's (h, c)."""
    cell = cells.get(model_cfg.cell)
    return [cell.layer_state(np.zeros((batch_size, H), dtype=dtype) for _ in cell.state_parts)
            for H in model_cfg.hidden_sizes]


def forward(params, model_cfg, x, state=None, train=False, rng=None, cond=None):
    """Run the model on ids x (B, T), with label ids cond (B, T) when the model has labels.

    Returns (logits (B, T, V), new_state, cache). new_state is the state after the last step,
    for carrying across truncated-BPTT batches; no gradient flows through it. Dropout is used
    only when train is True, and then needs rng (an np.random.Generator).
    """
    ids = np.asarray(x).T  # (T, B)
    T, B = ids.shape
    dtype = params["output.bias"].dtype
    if state is None:
        state = zero_state(model_cfg, B, dtype)
    p_drop = model_cfg.dropout if train else 0.0
    p_weight = model_cfg.weight_drop if train else 0.0
    if (p_drop or p_weight) and rng is None:
        raise ValueError("forward with dropout in training needs an rng")
    emb = params.get("embedding.weight")
    inp = emb[ids] if emb is not None else None  # (T, B, E), or None for one-hot
    labels = len(model_cfg.labels)
    cond_ids = np.asarray(cond).T if labels else None  # (T, B)
    if labels and inp is not None:  # a one-hot label joins every step's input
        inp = np.concatenate([inp, np.eye(labels, dtype=dtype)[cond_ids]], axis=-1)  # (T, B, E + labels)
    layers, new_state, cell = [], [], cells.get(model_cfg.cell)
    for k in range(model_cfg.num_layers):
        xw = _input_projection(params, k, inp, ids, cond_ids if k == 0 else None)  # (T, B, G*H)
        w_hh, w_mask = params.get(f"rnn.weight_hh_l{k}"), None  # None: a cell without recurrent weights
        if p_weight and w_hh is not None:  # DropConnect on W_hh, one mask for the whole batch (AWD-LSTM)
            w_mask = (rng.random(w_hh.shape) >= p_weight).astype(dtype) / dtype.type(1.0 - p_weight)
            w_hh = w_hh * w_mask
        out, final, cell_cache = cell.forward(xw, w_hh, params.get(f"rnn.bias_hh_l{k}"), state[k])
        mask = None
        if p_drop:  # inverted dropout: scale at training time so inference needs nothing
            mask = (rng.random(out.shape) >= p_drop).astype(dtype) / dtype.type(1.0 - p_drop)
            out = out * mask
        layers.append({"inp": inp, "cell": cell_cache, "mask": mask, "w_hh": w_hh, "w_mask": w_mask})
        new_state.append(final)
        inp = out  # (T, B, H)
    # 2-D matmuls: NumPy's stacked (T, B, H) @ (H, V) does not reach BLAS's fast path
    logits = inp.reshape(T * B, -1) @ output_weight(params, model_cfg).T + params["output.bias"]  # (T*B, V)
    cache = {"ids": ids, "layers": layers, "top": inp, "cond": cond_ids}
    return logits.reshape(T, B, -1).transpose(1, 0, 2), new_state, cache


def output_weight(params, model_cfg) -> np.ndarray:
    """The output layer's (V, H_last) weight: embedding.weight itself when the weights are tied."""
    return params["embedding.weight"] if model_cfg.tie_weights else params["output.weight"]


def _input_projection(params, k, inp, ids, cond_ids=None):
    w_ih, b_ih = params[f"rnn.weight_ih_l{k}"], params[f"rnn.bias_ih_l{k}"]
    if inp is None:  # one-hot input: the projection is a gather of W_ih's columns
        V = w_ih.shape[1] - (0 if cond_ids is None else _labels(params, w_ih))
        out = w_ih.T[ids] + b_ih
        if cond_ids is not None:  # the label's one-hot picks one more column
            out = out + w_ih.T[V + cond_ids]
        return out
    T, B, D = inp.shape
    return (inp.reshape(T * B, D) @ w_ih.T + b_ih).reshape(T, B, -1)


def cross_entropy(logits, y, mask=None):
    """Mean cross-entropy in nats: sum(mask * nll) / sum(mask). Returns (loss, dlogits).

    logits (B, T, V), y (B, T) ids, mask (B, T) or None (all ones). dlogits is d loss / d logits.
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=-1, keepdims=True)
    y = np.asarray(y)
    picked = np.take_along_axis(shifted, y[..., None], axis=-1)[..., 0]  # (B, T)
    nll = np.log(total[..., 0]) - picked
    weight = np.ones(y.shape, logits.dtype) if mask is None else np.asarray(mask, dtype=logits.dtype)
    count = max(float(weight.sum()), 1.0)
    loss = float((weight * nll).sum()) / count
    dlogits = exp / total
    np.put_along_axis(dlogits, y[..., None], np.take_along_axis(dlogits, y[..., None], -1) - 1.0, axis=-1)
    dlogits *= (weight / logits.dtype.type(count))[..., None]
    return loss, dlogits


def l2_penalty(params, l2: float):
    """0.5 * l2 * sum(W^2) over every weight matrix (embedding, weight_ih, weight_hh, output);
    biases are not penalised. A tied weight is one parameter and counts once. Returns (penalty, grads)."""
    names = [n for n in params if n.endswith("weight") or "weight_" in n]
    penalty = 0.5 * l2 * sum(float((params[n].astype(np.float64) ** 2).sum()) for n in names)
    return penalty, {n: l2 * params[n] for n in names}


def _labels(params, w_ih) -> int:
    """How many label columns layer 0's W_ih has beyond the one-hot vocabulary."""
    return w_ih.shape[1] - params["output.bias"].shape[0]


def loss_and_grads(params, model_cfg, x, y, state=None, mask=None, l2=0.0, train=True, rng=None, cond=None):
    """Loss (mean nats per token + L2 penalty), gradients (same keys as params) and new state.

    x, y: (B, T) ids; mask: (B, T) with 0 at padding, or None. See forward for state and rng.
    """
    logits, new_state, cache = forward(params, model_cfg, x, state, train, rng, cond)
    loss, dlogits = cross_entropy(logits, y, mask)
    grads = backward(params, model_cfg, dlogits.transpose(1, 0, 2), cache)
    if l2 > 0:
        penalty, dl2 = l2_penalty(params, l2)
        loss += penalty
        for name, g in dl2.items():
            grads[name] += g
    return loss, grads, new_state


def backward(params, model_cfg, dlogits, cache):
    """Gradients of every parameter given dlogits (T, B, V) and forward's cache."""
    T, B, V = dlogits.shape
    top = cache["top"]  # (T, B, H_last)
    dlogits2 = dlogits.reshape(T * B, V)
    grads = {"output.bias": dlogits2.sum(axis=0)}
    d_out_w = dlogits2.T @ top.reshape(T * B, -1)  # (V, H_last)
    dh = (dlogits2 @ output_weight(params, model_cfg)).reshape(T, B, -1)  # (T, B, H_last)
    ids, cell = cache["ids"], cells.get(model_cfg.cell)
    for k in reversed(range(model_cfg.num_layers)):
        layer = cache["layers"][k]
        if layer["mask"] is not None:
            dh = dh * layer["mask"]
        dxw, dw_hh, db_hh = cell.backward(dh, layer["w_hh"], layer["cell"])
        if cell.recurrent:
            grads[f"rnn.weight_hh_l{k}"], grads[f"rnn.bias_hh_l{k}"] = dw_hh, db_hh
        if layer["w_mask"] is not None:  # the gradient reaches W_hh through its mask
            grads[f"rnn.weight_hh_l{k}"] *= layer["w_mask"]
        G = dxw.shape[-1]
        dxw2 = dxw.reshape(T * B, G)
        grads[f"rnn.bias_ih_l{k}"] = dxw2.sum(axis=0)
        w_ih = params[f"rnn.weight_ih_l{k}"]
        if layer["inp"] is None:  # one-hot: scatter-add into the columns that were gathered
            columns = ids.ravel()
            if cache["cond"] is not None:  # and into the label's column
                V = w_ih.shape[1] - _labels(params, w_ih)
                columns = np.concatenate([columns, V + cache["cond"].ravel()])
                dxw2 = np.concatenate([dxw2, dxw2])
            grads[f"rnn.weight_ih_l{k}"] = np.ascontiguousarray(_scatter_rows(dxw2, columns, w_ih.shape[1]).T)
            dh = None
        else:
            grads[f"rnn.weight_ih_l{k}"] = dxw2.T @ layer["inp"].reshape(T * B, -1)
            dh = (dxw2 @ w_ih).reshape(T, B, -1)  # (T, B, D_k)
    if "embedding.weight" in params:
        E = params["embedding.weight"].shape[1]  # the label's columns of the input get no embedding gradient
        grads["embedding.weight"] = _scatter_rows(dh.reshape(T * B, -1)[:, :E], ids.ravel(), V)
    if model_cfg.tie_weights:  # both uses of the one matrix add up
        grads["embedding.weight"] += d_out_w
    else:
        grads["output.weight"] = d_out_w
    return grads


def _scatter_rows(values, rows, num_rows):
    """out[r] = sum of values[i] where rows[i] == r: values (N, D), rows (N,) -> (num_rows, D)."""
    if num_rows * rows.size <= 1 << 22:  # a one-hot matmul beats np.add.at by far for char vocabularies
        onehot = np.zeros((num_rows, rows.size), dtype=values.dtype)  # (num_rows, N)
        onehot[rows, np.arange(rows.size)] = 1.0
        return onehot @ values
    out = np.zeros((num_rows, values.shape[1]), dtype=values.dtype)  # word vocabularies: keep memory O(V D)
    np.add.at(out, rows, values)
    return out
