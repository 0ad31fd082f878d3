# Writes tiny deterministic ONNX graphs for tests (run with Debian's /usr/bin/python3 and python3-onnx).
# Reads a JSON spec on stdin:
#   {"kind": "causal-lm", "path": ..., "vocab_size": V, "successors": [V ints]}
#     logits[b, s, :] = 10 * one_hot(successors[input_ids[b, s]]): greedy decoding follows the successor chain.
#   {"kind": "embedding", "path": ..., "vectors": [[d floats] x V]}
#     last_hidden_state[b, s, :] = vectors[input_ids[b, s]].
# No KV cache; attention_mask is an input the graph ignores, as transformers.js always passes it.
import json
import sys

import onnx
from onnx import TensorProto, helper

spec = json.load(sys.stdin)
ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])
mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])

if spec["kind"] == "causal-lm":
    size = spec["vocab_size"]
    table = [0.0] * (size * size)
    for token, successor in enumerate(spec["successors"]):
        table[token * size + successor] = 10.0
    weight = helper.make_tensor("table", TensorProto.FLOAT, [size, size], table)
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "sequence", size])
    node = helper.make_node("Gather", ["table", "input_ids"], ["logits"], axis=0)
else:
    vectors = spec["vectors"]
    size, width = len(vectors), len(vectors[0])
    weight = helper.make_tensor("table", TensorProto.FLOAT, [size, width], [x for row in vectors for x in row])
    output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", width])
    node = helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"], axis=0)

graph = helper.make_graph([node], spec["kind"], [ids, mask], [output], initializer=[weight])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="kaiwa-tests")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, spec["path"])
