#!/usr/bin/env python3
"""Writes a tiny Whisper model in whisper.cpp's legacy ggml format, for tests (python3 + numpy only).

    write-tiny-ggml-whisper.py <out.bin> [--word " kaiwa"] [--without-space-token]

English-only vocabulary (n_vocab 51864), width 16, one encoder and one decoder layer, 80 mel bins, 1500
audio positions (30 s windows, as whisper.cpp expects). Weights are seeded random numbers (the encoder and
the decoder's attention really compute), except the decoder, which is rigged to say `--word` (default " kaiwa")
and stop, whatever it hears:

- every block's output projection (attn.out, cross_attn.out, mlp.2) is zero, so the residual stream is the
  input token's embedding alone, and the positional embedding is zero;
- the token embedding (tied to the output projection) puts the start-of-transcript token and the timestamp
  tokens on one axis, the word on that axis and a second one, end-of-text on the second: after the start (or
  a timestamp) the word has the highest logit, after the word end-of-text has.

Big matrices and the convolutions are F16 (whisper.cpp's convolution needs F16 kernels), biases, norms and
positional embeddings F32, as whisper.cpp's own converter writes them.

`--without-space-token` leaves out the vocabulary's " " (GPT-2's token 220): the model loads, and whisper.cpp
then throws a C++ exception on the first decoding step (it looks " " up to suppress a blank start), which
aborts the process through the Rust binding: a model that crashes mid-transcription, for isolation tests.
"""

import argparse
import struct
import numpy as np

N_VOCAB = 51864  # English-only: no language tokens
N_TEXT_TOKENS = 50256  # the byte-pair tokens; whisper.cpp adds the special and timestamp tokens itself
EOT, SOT, BEGIN_TIMESTAMPS = 50256, 50257, 50363
WORD_ID = 1000
SPACE_ID = 220
N_AUDIO_CTX, N_TEXT_CTX, STATE, HEADS, LAYERS, MELS, N_FFT = 1500, 448, 16, 1, 1, 80, 201


def main() -> None:
    parser = argparse.ArgumentParser(description="Writes a tiny rigged ggml Whisper model for tests.")
    parser.add_argument("out")
    parser.add_argument("--word", default=" kaiwa")
    parser.add_argument("--without-space-token", action="store_true")
    arguments = parser.parse_args()
    path, word = arguments.out, arguments.word
    names = {WORD_ID: word} if arguments.without_space_token else {WORD_ID: word, SPACE_ID: " "}
    rng = np.random.default_rng(7)

    def random(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    def zeros(*shape: int) -> np.ndarray:
        return np.zeros(shape, dtype=np.float32)

    tensors: list[tuple[str, np.ndarray]] = []
    tensors.append(("encoder.positional_embedding", random(N_AUDIO_CTX, STATE)))
    tensors.append(("encoder.conv1.weight", random(STATE, MELS, 3)))
    tensors.append(("encoder.conv1.bias", zeros(STATE, 1)))
    tensors.append(("encoder.conv2.weight", random(STATE, STATE, 3)))
    tensors.append(("encoder.conv2.bias", zeros(STATE, 1)))
    for layer in range(LAYERS):
        prefix = f"encoder.blocks.{layer}."
        tensors += block(prefix, random, ones, zeros, cross=False, silent=False)
    tensors.append(("encoder.ln_post.weight", ones(STATE)))
    tensors.append(("encoder.ln_post.bias", zeros(STATE)))

    # The rig, in the residual stream's first four dimensions (see the module comment).
    embedding = zeros(N_VOCAB, STATE)
    embedding[SOT, 0:2] = [1, -1]
    embedding[BEGIN_TIMESTAMPS:, 0:2] = [1, -1]
    embedding[WORD_ID, 0:4] = [4, -4, 4, -4]
    embedding[EOT, 2:4] = [20, -20]
    tensors.append(("decoder.positional_embedding", zeros(N_TEXT_CTX, STATE)))
    tensors.append(("decoder.token_embedding.weight", embedding))
    for layer in range(LAYERS):
        prefix = f"decoder.blocks.{layer}."
        tensors += block(prefix, random, ones, zeros, cross=True, silent=True)
    tensors.append(("decoder.ln.weight", ones(STATE)))
    tensors.append(("decoder.ln.bias", zeros(STATE)))

    with open(path, "wb") as out:
        out.write(struct.pack("<i", 0x67676D6C))  # "ggml"
        # n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state,
        # n_text_head, n_text_layer, n_mels, ftype (1: mostly F16)
        out.write(
            struct.pack(
                "<11i", N_VOCAB, N_AUDIO_CTX, STATE, HEADS, LAYERS, N_TEXT_CTX, STATE, HEADS, LAYERS, MELS, 1
            )
        )
        out.write(struct.pack("<ii", MELS, N_FFT))
        out.write(np.abs(rng.standard_normal((MELS, N_FFT))).astype("<f4").tobytes())
        out.write(struct.pack("<i", N_TEXT_TOKENS))
        for token in range(N_TEXT_TOKENS):
            # whisper.cpp looks up " " (GPT-2's token 220) by its text to suppress a blank start.
            text = names.get(token, f"[{token}]").encode("utf-8")
            out.write(struct.pack("<I", len(text)))
            out.write(text)
        for name, data in tensors:
            f16 = data.ndim >= 2 and name not in (
                "encoder.conv1.bias",
                "encoder.conv2.bias",
                "encoder.positional_embedding",
                "decoder.positional_embedding",
            )
            encoded = name.encode("utf-8")
            out.write(struct.pack("<iii", data.ndim, len(encoded), 1 if f16 else 0))
            for dimension in reversed(data.shape):  # ggml lists the fastest-varying dimension first
                out.write(struct.pack("<i", dimension))
            out.write(encoded)
            out.write(data.astype("<f2" if f16 else "<f4").tobytes())


def block(prefix, random, ones, zeros, *, cross: bool, silent: bool):
    """One transformer block; `silent` zeroes its output projections so it adds nothing to the residual."""
    out = zeros if silent else random
    tensors = [
        (prefix + "attn_ln.weight", ones(STATE)),
        (prefix + "attn_ln.bias", zeros(STATE)),
        (prefix + "attn.query.weight", random(STATE, STATE)),
        (prefix + "attn.query.bias", zeros(STATE)),
        (prefix + "attn.key.weight", random(STATE, STATE)),
        (prefix + "attn.value.weight", random(STATE, STATE)),
        (prefix + "attn.value.bias", zeros(STATE)),
        (prefix + "attn.out.weight", out(STATE, STATE)),
        (prefix + "attn.out.bias", zeros(STATE)),
    ]
    if cross:
        tensors += [
            (prefix + "cross_attn_ln.weight", ones(STATE)),
            (prefix + "cross_attn_ln.bias", zeros(STATE)),
            (prefix + "cross_attn.query.weight", random(STATE, STATE)),
            (prefix + "cross_attn.query.bias", zeros(STATE)),
            (prefix + "cross_attn.key.weight", random(STATE, STATE)),
            (prefix + "cross_attn.value.weight", random(STATE, STATE)),
            (prefix + "cross_attn.value.bias", zeros(STATE)),
            (prefix + "cross_attn.out.weight", out(STATE, STATE)),
            (prefix + "cross_attn.out.bias", zeros(STATE)),
        ]
    tensors += [
        (prefix + "mlp_ln.weight", ones(STATE)),
        (prefix + "mlp_ln.bias", zeros(STATE)),
        (prefix + "mlp.0.weight", random(4 * STATE, STATE)),
        (prefix + "mlp.0.bias", zeros(4 * STATE)),
        (prefix + "mlp.2.weight", out(STATE, 4 * STATE)),
        (prefix + "mlp.2.bias", zeros(STATE)),
    ]
    return tensors


if __name__ == "__main__":
    main()
