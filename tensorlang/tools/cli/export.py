"""`tensorlang export FILE -o OUT.onnx`: a graph as an ONNX model (tools/export_onnx.py), its
variables from `--load CKPT.npz` or a session seeded with `--seed`; `--train` writes the whole
training step of the graph's train block instead."""

from __future__ import annotations

from ...errors import UsageError
from ...runtime import checkpoint
from ...runtime.session import Session
from .. import export_onnx
from .common import add_file, load_program, pick_graph, train_spec

NAME = "export"
HELP = "write a graph (or its training step) as an ONNX model"


def add_arguments(sp) -> None:
    """export's options."""
    add_file(sp, graph=True)
    sp.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="the model file")
    sp.add_argument("--load", metavar="CKPT.npz", help="the variables' values (a checkpoint)")
    sp.add_argument("--seed", type=int, default=0,
                    help="seed of the starting values when there is no --load (default 0)")
    sp.add_argument("--outputs", metavar="A,B",
                    help="the nodes to output (default: every node no other node consumes)")
    sp.add_argument("--train", action="store_true",
                    help="the training step of the graph's train block: inputs NAME, "
                         "outputs NAME.new")


def main(args) -> int:
    """Write the model; nothing is written when anything fails."""
    program = load_program(args)
    graph = pick_graph(program, args.graph)
    outputs = [s.strip() for s in args.outputs.split(",") if s.strip()] if args.outputs else None
    if args.train and outputs:
        raise UsageError("--train writes the step's own outputs: --outputs does not apply")
    for name in outputs or ():
        graph.node(name)  # an unknown name is a located error with a did-you-mean
    sess = Session(graph, seed=args.seed)
    if args.load:
        for k, v in checkpoint.load(args.load, graph.variables).items():
            sess.assign(k, v)
    if args.train:
        spec = train_spec(program, graph, "--train", "training step to export")
        model = export_onnx.training_model(program, spec, sess)
    else:
        model = export_onnx.inference_model(graph, sess.variables, outputs)
    export_onnx.write(model, args.output)
    print(f"wrote {args.output}: {len(model.graph.node)} ONNX nodes, opset {export_onnx.OPSET}, "
          f"inputs {', '.join(i.name for i in model.graph.input)}")
    return 0
