"""How much of torch's public API axon has, area by area (names, not behaviour).

    python benchmarks/api_coverage.py            # the table
    python benchmarks/api_coverage.py --missing  # also the names axon lacks

A name counts when axon has an attribute of that name in the matching place. Behaviour is
what the parity tests check; this script only measures reach. Names from the areas axon
leaves out on purpose (sparse, complex, quantized, compile/jit, distributed, CUDA-only,
FFT) are listed apart, not counted as missing. Names that are not API at all are not
counted either: modules a file imports (``os``, ``math``, ``np``), typing helpers
(``Callable``, ``TYPE_CHECKING``), docstring fragments, ``__torch_function__`` plumbing,
and, at the top level, TorchScript's IR and type classes, ``sym_*`` and autocast's
per-device internals.
"""

from __future__ import annotations

import argparse
import inspect
import re

import torch

import axon

# names torch exposes for features axon leaves out on purpose (see the README); linalg's
# eig and eigvals are among them, as their results are complex
DELIBERATE = re.compile(
    r"sparse|complex|quantiz|qint|quint|^q_|_q$|fbgemm|mkldnn|cudnn|miopen|^fft|stft|"
    r"^jit|compile|^fx$|^onnx_|^vmap|^func$|distributed|^cuda|nested|^hub$|^mps|xpu|mtia|"
    r"fake_quant|^conj|^real$|^imag$|^angle$|^polar$|^view_as_real|^view_as_complex|"
    r"^is_conj|^resolve_|^chalf|^cfloat|^cdouble|^bfloat16|^BFloat|float8|^uint[1-7]$|"
    r"^int[1-7]$|^bits|storage|Storage|^_|^segment_reduce|^native_|^fused_|^batch_norm_|"
    r"^cudnn_|^miopen_|^mkldnn_|^to_padded|^per_channel_|^per_tensor_|^qscheme$|int_repr|"
    r"choose_qparams|^(ccol_|col_|crow_|row_)?indices(_copy)?$|^values(_copy)?$|coalesce|"
    r"^dense_dim$|^eig$|^eigvals$|^(saddmm|sspaddmm|spmm|smm|hspmm|dsmm|hsmm)$|^package|^export|^library|^profiler|^testing|"
    r"^utils$|^backends$|^overrides|^masked|^signal|^monitor|^accelerator|^ao$|^nn$|^optim$"
)


# names that are not API in any area: typing helpers, docstring fragments, the plumbing of
# __torch_function__ overrides, and a module's imports of itself
NOT_API = re.compile(
    r"^(Callable|Optional|Union|Any|TYPE_CHECKING|Literal|ParamSpec|TypeVar|Self|"
    r"SupportsFloat|TypedDict|Mapping|Sequence|Iterable|Iterator|cast|overload|override|"
    r"partial|ref|wraps|DType|BroadcastingList\d|common_args|multi_dim_common|common_notes|"
    r"reproducibility_notes|tf32_notes|handle_torch_function|has_torch_function\w*|"
    r"boolean_dispatch|assert_int_or_pair|torch)$"
)
# at the top level: TorchScript's IR, schema and type classes, symbolic shapes, dispatcher
# and benchmark internals, autocast's per-device switches (torch.ModuleDict and friends
# there are TorchScript's C++ containers, not nn's)
NOT_API_TOP = re.compile(
    r"^Script|^[A-Z]\w*Type$|^Type$|^sym_|^Sym|^(AliasDb|Argument|ArgumentSpec|Block|"
    r"CallStack|Code|CompilationUnit|CompleteArgumentSpec|ConcreteModuleType\w*|"
    r"DeepCopyMemoTable|ErrorReport|ExecutionPlan|FatalError|FileCheck|FunctionSchema|"
    r"Future|Gradient|Graph|GraphExecutorState|IODescriptor|InferredType|JITException|"
    r"LiteScriptModule|Node|StaticModule|TracingState|Use|Value|fork|wait|futures|"
    r"import_ir_module\w*|parse_ir|parse_schema|parse_type_comment|"
    r"merge_type_from_type_comment|unify_type_list|PyTorchFile\w+|ThroughputBenchmark|"
    r"Benchmark\w+|\w*Logger|LoggerBase|AggregationType|Capsule|DispatchKey\w*|"
    r"ExcludeDispatchKeyGuard|DisableTorchFunction\w*|Tag|OperatorInfo|PRIVATE_OPS|AVG|SUM|"
    r"USE_GLOBAL_DEPS|USE_RTLD_GLOBAL_WITH_LIBTORCH|classes|ops|classproperty|"
    r"ModuleDict|ParameterDict|BufferDict)$|"
    r"^(get|set|is)_autocast_(cpu|gpu|ipu|xla)|autocast_(increment|decrement)_nesting|"
    r"autocast_cache"
)


# below the top level: a module's own imports of torch's names (lr_scheduler's Tensor, inf)
NOT_API_SUB = re.compile(r"^(Tensor|inf|EPOCH_DEPRECATION_WARNING)$")
# names torch keeps only to raise "removed" when called (torch.solve, Tensor.eig, ...)
REMOVED = re.compile(r"^(eig|symeig|lstsq|solve|matrix_rank|reinforce)$")


def not_api(obj, name: str, top_level: bool) -> bool:
    """True for a name that is no part of the API: an imported module from outside torch
    (``os``, ``math``, ``np``), a typing helper, or (top level) a TorchScript internal."""
    value = getattr(obj, name, None)
    if inspect.ismodule(value) and not value.__name__.startswith("torch"):
        return True
    extra = NOT_API_TOP if top_level else NOT_API_SUB
    removed = (top_level or obj is torch.Tensor) and REMOVED.search(name)
    return bool(NOT_API.search(name) or extra.search(name) or removed)


def public(obj) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")}


def areas():
    """(area, torch object, axon object) for each part of the API a program touches."""
    import torch.nn.functional as TF
    import torch.utils.data as TD

    import axon.nn.functional as AF

    return [
        ("torch.*", torch, axon),
        ("Tensor methods", torch.Tensor, axon.Tensor),
        ("torch.nn", torch.nn, axon.nn),
        ("torch.nn.functional", TF, AF),
        ("torch.nn.init", torch.nn.init, axon.nn.init),
        ("torch.optim", torch.optim, axon.optim),
        ("torch.optim.lr_scheduler", torch.optim.lr_scheduler, axon.optim.lr_scheduler),
        ("torch.utils.data", TD, axon.data),
        ("torch.linalg", torch.linalg, axon.linalg),
        ("torch.special", torch.special, axon.special),
        ("torch.autograd", torch.autograd, axon.autograd),
        ("torch.distributions", torch.distributions, getattr(axon, "distributions", None)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the names axon lacks")
    args = parser.parse_args()
    print("| area | torch names | axon has | share | left out on purpose | not API |")
    print("|---|---:|---:|---:|---:|---:|")
    missing = {}
    for area, theirs, ours in areas():
        names = public(theirs)
        internal = {n for n in names if not_api(theirs, n, theirs is torch)}
        left_out = {n for n in names - internal if DELIBERATE.search(n)}
        counted = names - left_out - internal
        have = {n for n in counted if hasattr(ours, n)}
        missing[area] = sorted(counted - have)
        print(
            f"| {area} | {len(counted)} | {len(have)} | {len(have) / len(counted):.0%} "
            f"| {len(left_out)} | {len(internal)} |"
        )
    if args.missing:
        for area, names in missing.items():
            print(f"\n{area} ({len(names)} missing):\n  " + " ".join(names))


if __name__ == "__main__":
    main()
