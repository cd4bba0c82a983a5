"""The ``srdistill`` command line. Thin: it parses arguments and calls the library."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path

from srdistill import __version__
from srdistill.errors import ConfigError, SrdistillError

log = logging.getLogger("srdistill")


def _cmd_demo(args: argparse.Namespace) -> int:
    from srdistill.demo import run_demo

    table = run_demo(args.data, Path(args.out), args.steps, args.seed)
    print(table)
    print(f"figure and tables written to {args.out}/")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from srdistill.config import load_config
    from srdistill.engine.trainer import load_run_config
    from srdistill.methods import train

    source = Path(args.config)
    if source.is_dir():
        if not args.resume:
            raise SrdistillError(f"{source} is a run folder; add --resume to continue it")
        if args.preset:
            raise SrdistillError(
                f"--preset applies to a config file; the run folder {source} already holds "
                "its resolved config (change keys with -o instead)"
            )
        trained_by = _refuse_a_users_method(source)
        cfg = load_config(None, None, args.override, base=load_run_config(source).to_dict())
        cfg.output_dir, cfg.name = str(source.parent), source.name
        if trained_by is not None and trained_by != cfg.method:
            raise SrdistillError(
                f"{source} was trained by method {trained_by} but its config now names "
                f"{cfg.method}; resume with -o method={trained_by}"
            )
    else:
        cfg = load_config(source, args.preset, args.override)
    result = train(cfg, resume=args.resume, overwrite=args.overwrite)
    summary = ", ".join(f"{k}={v:.4g}" for k, v in result.metrics.items() if k != "lr")
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, one finish line, not one per rank
        print(f"finished {result.run_dir} at step {result.step}: {summary}")
    return 0


def _refuse_a_users_method(run_dir: Path) -> str | None:
    """The CLI resumes a run only with the class that trained it: a registered method
    (built-in, or a plugin it loads). A run of an unregistered Method class would otherwise
    continue as the method its config names (e.g. plain L1). Returns the recorded method
    name (None for runs that predate it)."""
    from srdistill.engine.trainer import recorded_method
    from srdistill.methods import METHODS

    name, cls = recorded_method(run_dir)
    registered = METHODS.get(name) if name else None
    if cls is not None and (
        registered is None or cls != f"{registered.__module__}.{registered.__qualname__}"
    ):
        raise SrdistillError(
            f"{run_dir} was trained with {cls}, which is not a registered method here; "
            "register it (@register_method, or a srdistill.plugins entry point) or resume it "
            "from Python: srdistill.engine.train(cfg, YourMethod, resume=True)"
        )
    return name


def _cmd_config(args: argparse.Namespace) -> int:
    import yaml

    from srdistill.config import load_config, shipped_configs

    if args.list:
        print("\n".join(shipped_configs()))
        return 0
    cfg = load_config(args.config, args.preset, args.override)
    print(yaml.safe_dump(cfg.to_dict(), sort_keys=False), end="")
    return 0


def _parse_sets(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from srdistill.deploy.loading import cohort_members, load_sr_model, run_notes
    from srdistill.engine.distributed import resolve_device
    from srdistill.eval import bicubic_upscaler, evaluate, results_table, write_results
    from srdistill.eval.evaluate import unavailable_metrics
    from srdistill.outputs import new_output_folder

    # Before minutes of computing, not after; earlier results are never mixed with these.
    outputs = ["eval_per_image.csv", "eval_summary.json"] + (["images"] if args.save_images else [])
    new_output_folder(Path(args.out), outputs, args.overwrite)
    device = resolve_device(args.device)
    metrics = _parse_sets(args.metrics)
    sets = _parse_sets(args.sets)
    models = []
    notes: list[str] = []
    if args.model == "bicubic":
        scale = args.scale or 4
        models.append(("bicubic", bicubic_upscaler(scale)))
    else:
        if not args.checkpoint:
            raise SrdistillError(
                "give a CHECKPOINT (run folder or .safetensors) or --model bicubic"
            )
        if args.member == "all":
            members: list[int | None] = list(cohort_members(args.checkpoint))
            if not members:
                raise SrdistillError(f"{args.checkpoint} is not a cohort; drop --member")
        else:
            members = [int(args.member) if args.member is not None else None]
        for member in members:
            loaded = load_sr_model(args.checkpoint, member=member, scale=args.scale, device=device)
            scale = loaded.scale
            if args.exit == "all":
                exits = getattr(loaded.full, "exit_blocks", [None])
            else:
                exits = [int(args.exit) if args.exit else None]
            for k in exits:
                at_exit = loaded.at_exit(k)
                models.append((at_exit.label, at_exit.network))
        notes = run_notes(args.checkpoint)
    if args.with_bicubic and args.model != "bicubic":
        models.insert(0, ("bicubic", bicubic_upscaler(scale)))
    results = []
    with torch.inference_mode():
        for name, fn in models:
            save = Path(args.out) / "images" / name.replace(" ", "_") if args.save_images else None
            results.append(
                evaluate(
                    fn,
                    sets,
                    scale,
                    model_name=name,
                    metrics=metrics,
                    device=device,
                    save_dir=save,
                    max_images=args.max_images,
                    progress=True,
                )
            )
    from srdistill.metrics.perceptual import ma_notes

    notes = [*notes, *ma_notes(metrics)]
    for note in notes:
        print(f"NOTE: {note}")
    print(f"x{scale}, Y channel, {scale}-pixel border cropped")
    print(results_table(results, metrics, args.max_images))
    for metric, reason in unavailable_metrics(metrics).items():
        print(f"{metric}: unavailable ({reason})")
    paths = write_results(results, Path(args.out), notes=notes)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _cmd_extract(args: argparse.Namespace) -> int:
    import torch

    from srdistill.deploy.loading import load_sr_model
    from srdistill.engine.checkpoint import save_module
    from srdistill.models import describe, has_exits
    from srdistill.outputs import new_output_file

    out = new_output_file(args.output, args.overwrite)
    loaded = load_sr_model(args.checkpoint, exit_block=args.exit)
    if not has_exits(loaded.full):
        raise SrdistillError(f"{loaded.source} is not a multi-exit model; nothing to extract")
    light = loaded.network
    save_module(light, out, {"extracted_from": str(loaded.source), "exit": args.exit})
    x = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (light(x) - loaded.full.forward_exit(x, args.exit)).abs().max().item()
    params = sum(p.numel() for p in light.parameters())
    # The same reference as `profile`'s compression column: the center as a plain network
    # (what one deploys without an exit), not the training-time model with its exit heads.
    center = loaded.full.extract_exit(loaded.full.num_blocks)
    center_params = sum(p.numel() for p in center.parameters())
    print(
        f"wrote {out}: {describe(light)} x{loaded.scale}"
        + (" from the EMA weights" if loaded.source.name.startswith("ema_") else "")
        + f", {params:,} parameters "
        f"({center_params / params:.2f}x compression against the center "
        f"{describe(center)}, as in `srdistill profile`); "
        f"max |difference| to the exit inside the model: {diff:.2e}"
    )
    return 0


def _cmd_upscale(args: argparse.Namespace) -> int:
    from srdistill.deploy.loading import load_sr_model
    from srdistill.deploy.upscale import expand_inputs, output_paths, upscale_file
    from srdistill.engine.distributed import resolve_device
    from srdistill.outputs import writable_folder

    device = resolve_device(args.device)
    loaded = load_sr_model(args.checkpoint, exit_block=args.exit, member=args.member, device=device)
    out_dir = writable_folder(Path(args.output))
    # Every output name is decided (and checked) before any image is written.
    images = expand_inputs([Path(i) for i in args.images])
    targets = output_paths(images, out_dir, loaded.scale, args.overwrite)
    failures = 0
    for image, target in targets.items():
        try:
            out = upscale_file(
                loaded.network,
                image,
                out_dir,
                loaded.scale,
                device=device,
                tile=args.tile,
                tile_overlap=args.tile_overlap,
                out=target,
                memory_budget=int(args.memory_budget * 1024**3),
            )
            print(f"{image} -> {out}")
        except SrdistillError as exc:
            failures += 1
            print(f"srdistill: error: {exc}", file=sys.stderr)
    return 1 if failures else 0


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SrdistillError(f"--input-size must look like 128x128 (WxH), got '{text}'") from None
    if w < 1 or h < 1 or w * h > 64_000_000:
        raise SrdistillError(f"--input-size must be positive and at most 64 Mpixel, got '{text}'")
    return h, w


def _positive_int(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got '{text}'")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got '{text}'")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive whole number, got '{text}'")
    return value


def _scale(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value not in (2, 3, 4, 8):
        raise argparse.ArgumentTypeError(f"must be 2, 3, 4 or 8, got '{text}'")
    return value


class _OneLineParser(argparse.ArgumentParser):
    """Usage mistakes are one line (argparse prints the whole usage block otherwise)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _cmd_profile(args: argparse.Namespace) -> int:
    from srdistill.deploy.loading import load_sr_model
    from srdistill.deploy.profile import profile_network, profile_table
    from srdistill.engine.distributed import resolve_device
    from srdistill.outputs import new_output_file

    out = new_output_file(args.out, args.overwrite) if args.out else None  # before the work
    device = resolve_device(args.device)
    size = _parse_size(args.input_size)
    center = load_sr_model(args.checkpoint, member=args.member)
    exits = getattr(center.full, "exit_blocks", [None])
    if args.exit is not None:
        exits = sorted({args.exit, exits[-1]} - {None}) or [None]
    profiles = []
    for k in exits:
        loaded = center.at_exit(k)
        profiles.append(profile_network(loaded.network, loaded.label, size, device, args.repeats))
    table = f"Device: {device}\n" + profile_table(profiles, profiles[-1], size)
    print(table)
    if out is not None:
        from srdistill.data.io import atomic_write_bytes

        atomic_write_bytes(out, table.encode())
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from srdistill.deploy.export import export_verified
    from srdistill.deploy.loading import load_sr_model
    from srdistill.outputs import new_output_file

    out = new_output_file(args.output, args.overwrite)
    loaded = load_sr_model(args.checkpoint, exit_block=args.exit, member=args.member)
    diff = export_verified(loaded.network, out)
    print(
        f"wrote {out} ({loaded.label}, x{loaded.scale}, dynamic batch/height/width); "
        f"onnxruntime vs PyTorch max |difference| {diff:.2e}"
    )
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from srdistill.reproduce import STUDIES, STUDY_PRESETS, TABLE_PRESETS, reproduce, study_runner

    sets = _parse_sets(args.sets) if args.sets else None
    if args.seeds < 1:
        raise ConfigError(f"--seeds must be at least 1 (seeds 0..N-1); got {args.seeds}")
    if args.table in STUDIES:
        if args.preset in TABLE_PRESETS:
            raise ConfigError(
                f"--preset {args.preset} belongs to the paper tables; the studies take "
                f"{', '.join(STUDY_PRESETS)}"
            )
        run_study = study_runner(args.table)
        folder = args.table.replace("-", "_")
        records = f"docs/results/{folder}" if args.records is None else args.records
        path = run_study(
            args.preset or STUDY_PRESETS[0],
            args.seeds,
            Path(args.out or f"runs/{folder}"),
            Path(records) if records else None,
            sets,
            args.override,
            train_missing=not args.no_train,
            arms=[a.strip() for a in args.arms.split(",") if a.strip()] if args.arms else None,
        )
        print(path.read_text())
        print(f"wrote {path}, {path.with_name('results.csv')} and the figures")
        return 0
    study_only = [
        flag
        for flag, given in (
            ("--no-train", args.no_train),
            ("--arms", args.arms),
            ("--records", args.records is not None),
        )
        if given
    ]
    if study_only:
        # A paper table evaluates its runs' weights, which are not committed: it cannot be
        # rebuilt from records, and silently training instead would surprise.
        raise ConfigError(
            f"{', '.join(study_only)} belongs to the studies ({', '.join(STUDIES)}); a paper "
            f"table trains what is missing under --out and evaluates it: drop "
            f"{'it' if len(study_only) == 1 else 'them'}"
        )
    if args.preset in STUDY_PRESETS:
        raise ConfigError(
            f"--preset {args.preset} belongs to {', '.join(STUDIES)}; the paper tables take "
            f"{' or '.join(TABLE_PRESETS)}"
        )
    path = reproduce(
        args.table,
        args.preset or TABLE_PRESETS[0],
        args.seeds,
        Path(args.out or "reproduce"),
        sets,
        args.override,
    )
    print(path.read_text())
    print(f"wrote {path} and {path.with_suffix('.csv')}")
    return 0


def _cmd_weights(args: argparse.Namespace) -> int:
    from srdistill.models import vgg
    from srdistill.weights import WEIGHTS, find_weight, missing_message

    if args.action == "import":
        return _import_weights(args)
    if args.action == "download":
        from srdistill.weights import PRETRAINED, download_pretrained

        if args.file not in PRETRAINED:
            raise ConfigError(
                f"weights download needs a catalog name: {', '.join(PRETRAINED)} "
                "(or `weights vgg19`)"
            )
        root = Path(args.root) if args.root else None
        print(f"installed {download_pretrained(args.file, args.url, root)}")
        return 0
    if args.file is not None:
        raise ConfigError(f"`weights {args.action}` takes no file; did you mean `weights import`?")
    if args.action == "vgg19":  # the one entry of DOWNLOADABLE_WEIGHTS
        path = vgg.download_vgg19(args.url or vgg.VGG19_URL)
        print(f"VGG19 ImageNet weights installed in {path}")
        return 0
    for key, w in WEIGHTS.items():
        found = find_weight(key)
        print(f"{w.what}: {found if found else 'missing (' + missing_message(key) + ')'}")
    from srdistill.weights import PRETRAINED, find_pretrained

    print("\nPretrained networks (`weights download NAME`, then `weights import NAME -o OUT`):")
    print("| name | file | SHA-256 | license | published | source | here |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, p in PRETRAINED.items():
        here = find_pretrained(name) or "missing"
        print(
            f"| {name} | {p.file} | {p.sha256} | {p.license} | {p.published} | {p.url} | {here} |"
        )
    return 0


def _import_weights(args: argparse.Namespace) -> int:
    from srdistill.deploy.importer import import_weights, summary
    from srdistill.weights import PRETRAINED, require_pretrained

    if args.file is None or args.output is None:
        raise ConfigError("usage: srdistill weights import FILE -o OUT.safetensors [--scale S]")
    source, scale = Path(args.file), args.scale
    if args.file in PRETRAINED and not source.exists():  # a catalog name: checksum-checked
        source = require_pretrained(args.file)
        scale = scale or PRETRAINED[args.file].scale
    imported = import_weights(
        source, args.output, scale=scale, rgb_range=args.rgb_range, overwrite=args.overwrite
    )
    print(f"{args.output}: {summary(imported)}")
    for note in imported.notes:
        print(f"  inferred: {note}")
    print(f"  source SHA-256 {imported.source_sha256}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from srdistill.data import catalog

    if args.action == "list":
        print("| name | role | images | where | description |")
        print("| --- | --- | --- | --- | --- |")
        for entry in catalog.CATALOG.values():
            try:
                where = str(catalog.find_dataset(entry.name))
            except SrdistillError:
                where = "not present"
            print(
                f"| {entry.name} | {entry.role} | {entry.count} | {where} | {entry.description} |"
            )
        return 0
    if not args.name:
        raise SrdistillError(f"`srdistill data {args.action}` needs a dataset NAME")
    if args.action == "verify":
        report = catalog.verify(args.name)
        if report.folder is None:
            print(f"{report.name}: not present (run `srdistill data download {report.name}`)")
            return 1
        state = "ok" if report.ok else "INCOMPLETE"
        print(f"{report.name}: {state}, {report.count}/{report.expected} images in {report.folder}")
        for name in report.unreadable:
            print(f"  unreadable: {name}")
        return 0 if report.ok else 1
    root = Path(args.root) if args.root else None
    if args.source:
        folder = catalog.import_dataset(args.name, Path(args.source), root, force=args.force)
    else:
        from tqdm import tqdm

        bars: list = []  # made on the first bytes, so an early error prints only itself

        def progress(done: int, total: int) -> None:
            if not bars:
                bars.append(tqdm(unit="B", unit_scale=True, desc=args.name))
            bars[0].total = total or None
            bars[0].n = done
            bars[0].refresh()

        try:
            folder = catalog.download(
                args.name, root, url=args.url, progress=progress, force=args.force
            )
        finally:
            for bar in bars:
                bar.close()
    print(f"{args.name}: installed in {folder}")
    return 0


def _add_override_option(parser: argparse.ArgumentParser, scope: str = "") -> None:
    parser.add_argument(
        "-o",
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config key{scope}, e.g. -o train.steps=1000 (repeatable)",
    )


def _add_max_pixels_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-pixels",
        type=int,
        help="largest image (width x height) to decode; default Pillow's limit, 89,478,485",
    )


# Commands with a download verb, each a key of srdistill.weights.WEIGHTS.
DOWNLOADABLE_WEIGHTS = ("vgg19",)


def build_parser() -> argparse.ArgumentParser:
    # Choices and help come from the registries (a plugin's architecture or method shows).
    from srdistill.config import ensure_builtins
    from srdistill.methods import METHODS
    from srdistill.metrics.registry import METRICS
    from srdistill.models import ARCHITECTURES
    from srdistill.reproduce import STUDIES, STUDY_PRESETS, TABLE_PRESETS, TABLES

    ensure_builtins()
    p = _OneLineParser(
        prog="srdistill",
        description="Knowledge distillation for image super-resolution.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version=f"srdistill {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser(
        "demo", help="train and compare a self-distilled exit with the same model alone"
    )
    d.add_argument(
        "--data",
        choices=["builtin", "local"],
        default="builtin",
        help="builtin: scikit-image photos; local: T91+BSD200 -> Set5/Set14",
    )
    d.add_argument("--out", default="demo_out", help="output folder")
    d.add_argument("--steps", type=_positive_int, default=600, help="training steps per model")
    d.add_argument("--seed", type=_non_negative_int, default=0)
    d.set_defaults(func=_cmd_demo)

    t = sub.add_parser(
        "train",
        help="train from a YAML config (or --resume a run folder)",
        epilog=f"model.arch: {', '.join(ARCHITECTURES)}. method: {', '.join(METHODS)}.",
    )
    t.add_argument(
        "config",
        help="config YAML, a shipped config name (self_distill/srresnet32_exit8), "
        "or a run folder with --resume",
    )
    _add_override_option(t)
    t.add_argument("--preset", help="a preset from the config's presets (e.g. quick, paper)")
    t.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    t.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    t.set_defaults(func=_cmd_train)

    c = sub.add_parser("config", help="print the resolved config (defaults, preset, overrides)")
    c.add_argument(
        "config",
        nargs="?",
        help="config YAML or shipped config name (default: only the defaults)",
    )
    c.add_argument("--preset")
    c.add_argument("--list", action="store_true", help="list the configs shipped with srdistill")
    _add_override_option(c)
    c.set_defaults(func=_cmd_config)

    e = sub.add_parser("eval", help="PSNR/SSIM of a model, exit or bicubic on test sets")
    _add_max_pixels_option(e)
    e.add_argument("checkpoint", nargs="?", help="run folder, checkpoint folder or .safetensors")
    e.add_argument("--model", choices=["bicubic"], help="evaluate bicubic instead of a checkpoint")
    e.add_argument(
        "--sets",
        default="Set5,Set14,BSD100,Urban100",
        help="comma-separated set names or folders of HR images (default: %(default)s; "
        "Urban100 with niqe/ma/pi takes long on a CPU)",
    )
    e.add_argument("--scale", type=_scale, help="upscaling factor (checked against the checkpoint)")
    e.add_argument("--exit", help="exit block to evaluate, or 'all' (default: the center)")
    e.add_argument("--member", help="cohort member to evaluate (an index, or 'all')")
    e.add_argument(
        "--metrics",
        default="psnr,ssim",
        help=f"comma-separated: {', '.join(METRICS)} (default: %(default)s)",
    )
    e.add_argument("--with-bicubic", action="store_true", help="add a bicubic row")
    e.add_argument("--max-images", type=_positive_int, help="only the first N images of each set")
    e.add_argument("--save-images", action="store_true", help="write SR images too")
    e.add_argument("--out", default="eval_results", help="folder for CSV/JSON results")
    e.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    e.add_argument("--device", default="auto")
    e.set_defaults(func=_cmd_eval)

    x = sub.add_parser("extract", help="cut an exit out as a standalone network")
    x.add_argument("checkpoint")
    x.add_argument("--exit", type=_positive_int, required=True)
    x.add_argument("-o", "--output", required=True, help="output .safetensors file")
    x.add_argument("--overwrite", action="store_true", help="replace an existing file")
    x.set_defaults(func=_cmd_extract)

    u = sub.add_parser("upscale", help="super-resolve image files")
    _add_max_pixels_option(u)
    u.add_argument("checkpoint")
    u.add_argument("images", nargs="+", help="image files, or folders of images")
    u.add_argument("-o", "--output", required=True, help="output folder")
    u.add_argument("--exit", type=_positive_int, help="exit block to use (default: the center)")
    u.add_argument("--member", type=_non_negative_int, help="cohort member to use")
    u.add_argument("--tile", type=_positive_int, help="LR tile size for large images")
    u.add_argument(
        "--memory-budget",
        type=_positive_float,
        default=2.0,
        help="GB of activations one forward pass may use; larger images are tiled "
        "automatically (default 2)",
    )
    u.add_argument(
        "--tile-overlap", type=_non_negative_int, default=16, help="LR pixels of context per tile"
    )
    u.add_argument("--overwrite", action="store_true", help="replace existing output files")
    u.add_argument("--device", default="auto")
    u.set_defaults(func=_cmd_upscale)

    pr = sub.add_parser("profile", help="parameters, FLOPs, memory and latency per exit")
    pr.add_argument("checkpoint")
    pr.add_argument("--exit", type=_positive_int, help="one exit (with the center for the ratios)")
    pr.add_argument("--member", type=_non_negative_int, help="cohort member")
    pr.add_argument("--input-size", default="128x128", help="LR input WxH (default 128x128)")
    pr.add_argument("--repeats", type=_positive_int, default=10, help="timed forward passes")
    pr.add_argument("--device", default="auto")
    pr.add_argument("--out", help="also write the table to this Markdown file")
    pr.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    pr.set_defaults(func=_cmd_profile)

    ex = sub.add_parser("export", help="export a model or exit to ONNX (verified)")
    ex.add_argument("checkpoint")
    ex.add_argument("--exit", type=_positive_int)
    ex.add_argument("--member", type=_non_negative_int)
    ex.add_argument("--format", choices=["onnx"], default="onnx")
    ex.add_argument("-o", "--output", required=True)
    ex.add_argument("--overwrite", action="store_true", help="replace an existing file")
    ex.set_defaults(func=_cmd_export)

    r = sub.add_parser("reproduce", help="run and tabulate a paper table or a study")
    r.add_argument("table", choices=[*TABLES, *STUDIES])
    r.add_argument(
        "--preset",
        choices=[*TABLE_PRESETS, *STUDY_PRESETS],
        help=f"{' | '.join(TABLE_PRESETS)} for the tables (default {TABLE_PRESETS[0]}); "
        f"{' | '.join(STUDY_PRESETS)} for the studies (default {STUDY_PRESETS[0]})",
    )
    r.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1; mean and spread")
    r.add_argument(
        "--out",
        help="folder for runs (tables: reproduce/, tables too; studies: runs/study_<x>)",
    )
    r.add_argument(
        "--records",
        help="studies: folder of committed run records and the tables (default "
        "docs/results/study_<x>; empty: keep in --out)",
    )
    r.add_argument(
        "--no-train", action="store_true", help="studies: tabulate the records there are"
    )
    r.add_argument(
        "--arms",
        help="studies: comma-separated arms to train (default: all). Several study "
        "processes may share one --out: each takes the next run no other process holds",
    )
    r.add_argument("--sets", help="comma-separated test sets (default: the four standard)")
    _add_override_option(r, " in every run")
    r.set_defaults(func=_cmd_reproduce)

    from srdistill.deploy.importer import supported_layouts

    w = sub.add_parser(
        "weights",
        help="list or download the weight files metrics/losses use; import other codebases' "
        "networks",
        description="import: turn a .pth/.safetensors state dict of another codebase into "
        f"an srdistill network file. Layouts: {supported_layouts()}.",
    )
    w.add_argument("action", choices=["list", "import", "download", *DOWNLOADABLE_WEIGHTS])
    w.add_argument(
        "file",
        nargs="?",
        help="import: the weight file to convert, or a catalog name (`weights list`); "
        "download: a catalog name",
    )
    w.add_argument("--root", help="download: data root to install into (default: the cache)")
    w.add_argument("-o", "--output", help="import: the .safetensors file to write")
    w.add_argument(
        "--scale",
        type=_scale,
        help="import: the upsampler of a multi-scale file (CARN-M), or a check",
    )
    w.add_argument(
        "--rgb-range",
        type=float,
        help="import: pixel range the network was trained at (1 or 255) where the file "
        "does not say",
    )
    w.add_argument("--overwrite", action="store_true", help="import: replace OUT")
    w.add_argument("--url", help="download from this mirror (checksum still verified)")
    w.set_defaults(func=_cmd_weights)

    g = sub.add_parser("data", help="list, download, import or verify datasets")
    g.add_argument("action", choices=["list", "download", "verify"])
    g.add_argument("name", nargs="?")
    g.add_argument("--from", dest="source", help="import an already-downloaded archive or folder")
    g.add_argument("--root", help="data root to install into (default: $SRDISTILL_DATA or cache)")
    g.add_argument("--url", help="download from this mirror instead (checksum still verified)")
    g.add_argument(
        "--force",
        action="store_true",
        help="replace a complete dataset, or install one whose image count differs",
    )
    g.set_defaults(func=_cmd_data)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(message)s" if args.verbose else "%(message)s",
        stream=sys.stderr,
    )
    from srdistill.engine.trainer import Interrupted

    try:
        if getattr(args, "max_pixels", None) is not None:
            from srdistill.data.io import set_max_pixels

            set_max_pixels(args.max_pixels)
        return args.func(args)
    except Interrupted as exc:
        print(f"srdistill: {exc}", file=sys.stderr)
        return 130
    except SrdistillError as exc:
        print(f"srdistill: error: {str(exc) or type(exc).__name__}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, read-only folder, ...: one line naming the path
        from srdistill.outputs import os_error_line

        print(f"srdistill: error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("srdistill: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
