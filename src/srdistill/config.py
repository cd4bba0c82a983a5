"""Typed run configuration: YAML files + presets + ``key=value`` overrides, validated.

A config file is plain data. It may hold a ``presets`` mapping (e.g. ``quick`` for a 2-core
CPU and ``paper`` for the paper's settings) whose entries are merged over the base values
by ``--preset NAME``. Every key is checked: an unknown or mistyped key is a one-line error
naming the key and the closest valid one.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from srdistill.errors import ConfigError


def _choices(*values: str) -> dict:
    return {"choices": values}


@dataclass
class ModelConfig:
    """The generator: a plain SRResNet or a multi-exit one (self-distillation)."""

    arch: str = field(default="srresnet", metadata=_choices("srresnet", "multi_exit_srresnet"))
    num_blocks: int = 16
    num_features: int = 64
    exits: list[int] = field(default_factory=lambda: [8])
    # Not SRResNet: add the bicubic upscale of the input to the output (residual learning).
    # Off in every paper preset; the demo uses it so a minutes-long run beats bicubic.
    bicubic_skip: bool = False


@dataclass
class DataConfig:
    train: list[str] = field(default_factory=lambda: ["DIV2K_train"])
    val: str = "Set5"
    val_max_images: int | None = None
    patch_size: int = 96  # HR patch side; the LR patch is patch_size / scale
    augment: bool = True
    on_bad_image: str = field(default="skip", metadata=_choices("skip", "stop"))
    max_pixels: int | None = None  # largest image decoded; None: Pillow's default limit
    num_workers: int = 0


@dataclass
class OptimConfig:
    lr: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    # "step": lr *= gamma at each milestone; "cosine": half-cosine from lr to min_lr over
    # train.steps. Both start with warmup_steps of linear warm-up (0: none).
    schedule: str = field(default="step", metadata=_choices("step", "cosine"))
    milestones: list[int] = field(default_factory=list)  # steps at which lr *= gamma
    gamma: float = 0.5
    warmup_steps: int = 0
    min_lr: float = 0.0


@dataclass
class TrainConfig:
    steps: int = 100_000
    batch_size: int = 16
    # fp32 | bf16 (autocast) | fp16 (autocast with a gradient scaler)
    precision: str = field(default="fp32", metadata=_choices("fp32", "bf16", "fp16"))
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None  # CPU threads for torch; None keeps torch's default
    log_every: int = 10
    val_every: int = 1000
    ckpt_every: int = 1000
    keep_checkpoints: int = 2
    grad_clip: float | None = None
    # Micro-batches of batch_size per optimizer step (gradient accumulation): the effective
    # batch is batch_size x accumulate. BatchNorm (SRResNet, the SRGAN discriminator) still
    # normalises per micro-batch, so it is not the same as one larger batch.
    accumulate: int = 1
    # Exponential moving average of the deployed networks' weights (e.g. 0.999); None: off.
    # When on, validation, eval, upscale, extract and export use the averaged weights.
    ema_decay: float | None = None
    progress: bool = True


@dataclass
class PlainConfig:
    """Method ``plain``: one network trained by a pixel loss against HR."""

    loss: str = field(default="l1", metadata=_choices("l1", "mse"))
    # Run folder or .safetensors of a deeper SRResNet (same scale and width): the network
    # starts as its head, first num_blocks blocks and reconstruction.
    init_from: str | None = None


@dataclass
class SelfDistillConfig:
    """Paper A: L = L(center, HR) + sum_k w_k [alpha L(exit, HR) + (1-alpha) L(exit, center)]."""

    alpha: float = 0.9
    # Weight per side exit, keyed by the exit's block ({8: 1.0, 16: 0.5}); a list is read in
    # the order of model.exits. None -> all 1.
    exit_weights: dict[int, float] | list[float] | None = None
    loss: str = field(default="l1", metadata=_choices("l1", "mse"))  # the pixel (HR) term
    # The exit-to-center term; None -> the same kind as ``loss``.
    distill_loss: str | None = field(default=None, metadata=_choices("l1", "mse"))
    detach_center: bool = False  # True: the center is a fixed teacher for the exits
    feature_weight: float = 0.0  # L2 between exit and center trunk features (BYOT), off
    # Warm start: a trained plain SRResNet (run folder or .safetensors) with the center's
    # depth and width is copied into head, body and the center's reconstruction head.
    init_from: str | None = None
    # What a side exit's reconstruction head starts from under init_from: a copy of the
    # teacher's ("teacher") or the fresh initialisation of the seed ("fresh").
    exit_init: str = field(default="teacher", metadata=_choices("teacher", "fresh"))


@dataclass
class KDConfig:
    """Teacher-student KD: a student learns from the ground truth and a frozen teacher.

    L = L_pix(student, HR) + output_weight * L_out(student, teacher)
        + feature_weight * sum over feature_pairs of L_feat(student feat, teacher feat)
    """

    teacher: str | None = None  # run folder or .safetensors of a trained SRResNet
    teacher_blocks: int | None = None  # declared teacher depth; checked against the file
    teacher_features: int | None = None  # declared teacher width; checked against the file
    pixel_loss: str = field(default="l1", metadata=_choices("l1", "mse"))
    output_loss: str = field(default="l1", metadata=_choices("l1", "mse"))
    output_weight: float = 1.0  # DUKD uses 1:1
    # none | fitnets (L2 after a 1x1 adaptor when widths differ) | fakd (spatial affinity L1)
    feature: str = field(default="none", metadata=_choices("none", "fitnets", "fakd"))
    feature_weight: float = 1.0
    # "student_module:teacher_module" pairs, module names as in named_modules(); empty ->
    # the last residual block of each.
    feature_pairs: list[str] = field(default_factory=list)
    # As plain.init_from: the student starts as the head, first blocks and reconstruction
    # of this deeper SRResNet (usually the teacher itself).
    init_from: str | None = None


@dataclass
class MutualConfig:
    """Paper B: a cohort of SRGANs whose discriminators distil from each other."""

    members: int = 2
    # independent | ml (KL to peers) | ml_soft (ML*, softened by temperature) | confidence /
    # confidence_soft: the control, KL to a fixed Bernoulli(0.5) instead of a peer
    mode: str = field(
        default="ml",
        metadata=_choices("independent", "ml", "ml_soft", "confidence", "confidence_soft"),
    )
    temperature: float = 2.0  # used by the _soft modes
    ml_weight: float = 1.0  # weight of the KL term (peer or control)
    # Which fakes a peer scores for member i's KL: its own generator's ("own", paper B's
    # text) or member i's ("same").
    peer_images: str = field(default="own", metadata=_choices("same", "own"))
    # simultaneous: every discriminator is scored before any is updated; sequential: member
    # by member, each against its peers' current weights (Deep Mutual Learning's algorithm)
    update_order: str = field(
        default="simultaneous", metadata=_choices("simultaneous", "sequential")
    )
    adv_weight: float = 1e-3
    # The generators' content term: vgg (SRGAN's VGG19 feature MSE), pixel_mse (SRGAN-MSE:
    # pixel MSE on images scaled to [-1, 1], as Ledig et al. compute it) or l1 (pixel L1).
    content_loss: str = field(default="vgg", metadata=_choices("vgg", "pixel_mse", "l1"))
    content_layer: str = "relu5_4"
    content_scale: float = 1 / 12.75  # VGG features are scaled by this before the MSE (SRGAN)
    vgg_weights: str | None = None  # path, or "random" for the explicit stand-in
    init_from: str | None = None  # pixel-loss-trained SRResNet checkpoint for generators
    disc_features: int = 64
    disc_lr: float | None = None  # None -> optim.lr


@dataclass
class RunConfig:
    name: str = "run"
    output_dir: str = "runs"
    seed: int = 0
    scale: int = 4
    method: str = field(
        default="plain", metadata=_choices("plain", "self_distill", "kd", "mutual_gan")
    )
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    plain: PlainConfig = field(default_factory=PlainConfig)
    self_distill: SelfDistillConfig = field(default_factory=SelfDistillConfig)
    kd: KDConfig = field(default_factory=KDConfig)
    mutual: MutualConfig = field(default_factory=MutualConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


def _all_keys(cls: type, prefix: str = "") -> list[str]:
    keys = []
    for f in dataclasses.fields(cls):
        full = prefix + f.name
        keys.append(full)
        if dataclasses.is_dataclass(f.type if isinstance(f.type, type) else None):
            keys += _all_keys(f.type, full + ".")
    return keys


def _unknown_key(key: str, cls: type, prefix: str) -> ConfigError:
    valid = [prefix + f.name for f in dataclasses.fields(cls)]
    pool = valid + [k for k in _all_keys(RunConfig) if k not in valid]
    close = difflib.get_close_matches(prefix + key, pool, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(f"unknown config key '{prefix}{key}'{hint}")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted as floats."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is dict:
        key_tp, value_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {value!r}")
        return {
            _coerce(k, key_tp, f"{key}.{k}"): _coerce(v, value_tp, f"{key}.{k}")
            for k, v in value.items()
        }
    if origin is list:
        (item,) = typing.get_args(tp)
        if isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a list, got {value!r}")
        if not isinstance(value, list):
            value = [value] if not isinstance(value, (dict, tuple)) else list(value)
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        try:  # YAML 1.1 reads '2e-4' (no dot) as a string
            return float(value)
        except ValueError:
            pass
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)  # mapping keys given on the command line
    if tp is bool and isinstance(value, bool):
        return value
    if tp is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"config key '{key}' must be {getattr(tp, '__name__', tp)}, got {value!r}")


def _build(cls: type, raw: dict, prefix: str = "") -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"config section '{prefix.rstrip('.')}' must be a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in raw.items():
        if key not in fields:
            raise _unknown_key(str(key), cls, prefix)
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = _build(tp, value or {}, prefix + key + ".")
            continue
        kwargs[key] = _coerce(value, tp, prefix + key)
        choices = fields[key].metadata.get("choices")
        if choices and kwargs[key] is not None and kwargs[key] not in choices:
            raise ConfigError(
                f"config key '{prefix}{key}' must be one of {', '.join(choices)}; got {value!r}"
            )
    return cls(**kwargs)


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


MAX_CONFIG_BYTES = 1 << 20  # a config is a few KB; anything near this is not one
MAX_YAML_ALIASES = 32  # configs need none; an alias bomb needs dozens


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and more than a few aliases (whose nesting
    can make a 341-byte file expand to gigabytes when read)."""

    aliases_seen = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            self.aliases_seen += 1
            if self.aliases_seen > MAX_YAML_ALIASES:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(
                    f"more than {MAX_YAML_ALIASES} aliases (line {mark.line + 1}); "
                    "write the values out instead"
                )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # noqa: ANN001, ANN201
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.YAMLError(
                    f"key {short_repr(key, 40)} appears twice (line {key_node.start_mark.line + 1})"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(text: str) -> Any:
    """Parse YAML strictly (see ``_StrictLoader``); raises ``yaml.YAMLError``."""
    if len(text) > MAX_CONFIG_BYTES:
        raise yaml.YAMLError(
            f"{len(text)} characters, over the {MAX_CONFIG_BYTES} a config may have"
        )
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def parse_override(text: str) -> dict:
    """``a.b.c=value`` -> ``{'a': {'b': {'c': value}}}``, the value parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key=value (e.g. train.steps=100)")
    key, raw = text.split("=", 1)
    try:
        value = read_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    node: dict = {}
    cur = node
    parts = key.strip().split(".")
    for p in parts[:-1]:
        cur[p] = {}
        cur = cur[p]
    cur[parts[-1]] = value
    return node


def _validate(cfg: RunConfig) -> RunConfig:
    def bad(msg: str) -> ConfigError:
        return ConfigError(msg)

    name = cfg.name
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise bad(
            f"config key 'name' must be a plain folder name (no '/', not '.' or '..'); got "
            f"{name!r}; put the folder in output_dir"
        )
    if cfg.scale not in (2, 3, 4, 8):
        raise bad(f"config key 'scale' must be 2, 3, 4 or 8; got {cfg.scale}")
    if cfg.data.patch_size % cfg.scale:
        raise bad(f"data.patch_size ({cfg.data.patch_size}) must be a multiple of scale")
    if cfg.method == "self_distill" and cfg.model.arch != "multi_exit_srresnet":
        raise bad("method self_distill needs model.arch: multi_exit_srresnet")
    if cfg.method in ("plain", "mutual_gan") and cfg.model.arch != "srresnet":
        raise bad(
            f"method {cfg.method} trains a plain SRResNet: set model.arch: srresnet "
            "(multi_exit_srresnet belongs to method self_distill)"
        )
    if cfg.model.arch == "srresnet" and cfg.model.exits != ModelConfig().exits:
        # A plain SRResNet has no exits: a changed model.exits would be silently ignored.
        raise bad(
            f"model.exits {cfg.model.exits} is read only by model.arch: multi_exit_srresnet "
            f"(method self_distill); method {cfg.method} trains a plain SRResNet: drop it"
        )
    if cfg.model.arch == "multi_exit_srresnet":
        bad_exits = [k for k in cfg.model.exits if not 1 <= k < cfg.model.num_blocks]
        if bad_exits:
            raise bad(f"model.exits {bad_exits} must lie in 1..{cfg.model.num_blocks - 1}")
        weights = cfg.self_distill.exit_weights
        if isinstance(weights, list) and len(weights) != len(cfg.model.exits):
            raise bad("self_distill.exit_weights needs one weight per exit in model.exits")
        if isinstance(weights, dict) and set(weights) != set(cfg.model.exits):
            raise bad(
                f"self_distill.exit_weights names exits {sorted(weights)} but model.exits "
                f"is {sorted(cfg.model.exits)}; give one weight per exit"
            )
    if not 0.0 <= cfg.self_distill.alpha <= 1.0:
        raise bad("self_distill.alpha must lie in [0, 1]")
    if cfg.method == "kd":
        if not cfg.kd.teacher:
            raise bad("method kd needs kd.teacher: a run folder or .safetensors of a teacher")
        if cfg.model.arch != "srresnet":
            raise bad("method kd trains a plain student: set model.arch: srresnet")
        for pair in cfg.kd.feature_pairs:
            if pair.count(":") != 1 or not all(pair.split(":")):
                raise bad(
                    f"kd.feature_pairs entry {pair!r} must look like "
                    "'student_module:teacher_module' (e.g. 'body.3:body.15')"
                )
    if cfg.optim.warmup_steps < 0 or cfg.optim.warmup_steps >= cfg.train.steps:
        raise bad("optim.warmup_steps must lie in 0..train.steps-1")
    if cfg.optim.min_lr < 0 or cfg.optim.min_lr > cfg.optim.lr:
        raise bad("optim.min_lr must lie in [0, optim.lr]")
    if cfg.mutual.members < 1:
        raise bad("mutual.members must be at least 1")
    if cfg.method == "mutual_gan" and cfg.mutual.mode.startswith("ml") and cfg.mutual.members < 2:
        raise bad(
            f"mutual.mode {cfg.mutual.mode} needs at least 2 members (a peer to learn from); "
            "use mode confidence for a single SRGAN"
        )
    if cfg.mutual.temperature <= 0:
        raise bad("mutual.temperature must be positive")
    for key in (
        "steps",
        "batch_size",
        "log_every",
        "val_every",
        "ckpt_every",
        "keep_checkpoints",
        "accumulate",
    ):
        if getattr(cfg.train, key) < 1:
            raise bad(f"train.{key} must be at least 1")
    m, o, d = cfg.model, cfg.optim, cfg.data
    for key, value, low, high in (
        ("model.num_blocks", m.num_blocks, 1, 1000),
        ("model.num_features", m.num_features, 1, 4096),
        ("data.patch_size", d.patch_size, cfg.scale, 4096),
        ("data.num_workers", d.num_workers, 0, 256),
        ("mutual.members", cfg.mutual.members, 1, 64),
        ("mutual.disc_features", cfg.mutual.disc_features, 1, 4096),
    ):
        if not low <= value <= high:
            raise bad(f"{key} must lie in {low}..{high}; got {value}")
    if d.val_max_images is not None and d.val_max_images < 1:
        raise bad("data.val_max_images must be at least 1 (or null for all)")
    if d.max_pixels is not None and d.max_pixels < 1:
        raise bad("data.max_pixels must be at least 1 (or null for the default)")
    if isinstance(cfg.seed, bool) or not 0 <= cfg.seed < 2**32:
        # torch, numpy and Python's random all take this range; larger ones overflow.
        raise bad(f"seed must be an integer in 0..{2**32 - 1}; got {short_repr(cfg.seed)}")
    if cfg.train.threads is not None and cfg.train.threads < 1:
        raise bad("train.threads must be at least 1 (or null for torch's default)")
    for key, value in (
        ("optim.lr", o.lr),
        ("mutual.disc_lr", cfg.mutual.disc_lr if cfg.mutual.disc_lr is not None else 1.0),
    ):
        if not math.isfinite(value) or value <= 0:
            raise bad(f"{key} must be a finite positive number; got {value}")
    if len(o.betas) != 2 or not all(0 <= b < 1 for b in o.betas):
        raise bad(f"optim.betas must be two numbers in [0, 1), e.g. [0.9, 0.999]; got {o.betas}")
    if not math.isfinite(o.weight_decay) or o.weight_decay < 0:
        raise bad("optim.weight_decay must be a finite number >= 0")
    if not 0 < o.gamma <= 1 or any(s < 1 for s in o.milestones):
        raise bad("optim.gamma must lie in (0, 1] and optim.milestones be positive steps")
    ema = cfg.train.ema_decay
    if ema is not None and not (isinstance(ema, float | int) and 0 < ema < 1):
        raise bad(f"train.ema_decay must lie in (0, 1), e.g. 0.999 (or null for none); got {ema}")
    if cfg.train.grad_clip is not None and not cfg.train.grad_clip > 0:
        raise bad("train.grad_clip must be positive (or null for none)")
    for key, value in (
        ("self_distill.feature_weight", cfg.self_distill.feature_weight),
        ("kd.output_weight", cfg.kd.output_weight),
        ("kd.feature_weight", cfg.kd.feature_weight),
        ("mutual.ml_weight", cfg.mutual.ml_weight),
        ("mutual.adv_weight", cfg.mutual.adv_weight),
        ("mutual.content_scale", cfg.mutual.content_scale),
    ):
        if not math.isfinite(value) or value < 0:
            raise bad(f"{key} must be a finite number >= 0; got {value}")
    weights = cfg.self_distill.exit_weights
    values = list(weights.values()) if isinstance(weights, dict) else list(weights or [])
    if any(not math.isfinite(w) or w < 0 for w in values):
        raise bad("self_distill.exit_weights must be finite numbers >= 0")
    return cfg


def config_from_dict(raw: dict) -> RunConfig:
    return _validate(_build(RunConfig, raw))


CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def resolve_config_path(name: str | Path) -> Path:
    """A config file path, or the name of a shipped config (``self_distill/srresnet32_exit8``,
    with or without ``.yaml``) looked up in the package's configs folder."""
    path = Path(name)
    if path.is_file():
        return path
    if path.exists() and not path.is_dir():
        raise ConfigError(f"config {path} is not a regular file (a pipe, device or socket)")
    for candidate in (CONFIG_DIR / path, CONFIG_DIR / path.with_suffix(".yaml")):
        if candidate.is_file() and CONFIG_DIR in candidate.resolve().parents:
            return candidate
    close = difflib.get_close_matches(str(path.with_suffix("")), shipped_configs(), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ConfigError(
        f"config file not found: {name}{hint}; `srdistill config --list` shows the shipped ones"
    )


def shipped_configs() -> list[str]:
    """Names of the configs that ship with srdistill."""
    return sorted(
        str(p.relative_to(CONFIG_DIR).with_suffix("")) for p in CONFIG_DIR.rglob("*.yaml")
    )


def load_config(
    path: str | Path | None = None,
    preset: str | None = None,
    overrides: list[str] | None = None,
    base: dict | None = None,
) -> RunConfig:
    """Read a YAML config, apply a preset and overrides, and validate everything."""
    raw: dict = dict(base or {})
    if path is not None:
        path = resolve_config_path(path)
        try:
            loaded = read_yaml(path.read_text()) or {}
        except UnicodeDecodeError:
            raise ConfigError(f"config file {path} is not UTF-8 text") from None
        except yaml.YAMLError as exc:
            first = short_repr(str(exc).splitlines()[0], 200).strip("'\"")
            raise ConfigError(f"config file {path} is not valid YAML: {first}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping of keys")
        raw = deep_merge(raw, loaded)
    presets = raw.pop("presets", {}) or {}
    if preset:
        if preset not in presets:
            have = ", ".join(presets) or "none"
            raise ConfigError(f"preset '{preset}' not in {path}; available: {have}")
        raw = deep_merge(raw, presets[preset])
    for text in overrides or []:
        raw = deep_merge(raw, parse_override(text))
    return config_from_dict(raw)


# The version of the config's meaning, recorded in run.json. A run written under an older
# one is read with LEGACY_VALUES for keys its saved config lacks; a newer one is refused.
CONFIG_SCHEMA = 2
# Keys added after runs were first saved, with the behaviour a saved config lacking them was
# trained with. Reading such a config with today's default instead would resume or reuse it
# with other maths and no warning (mutual.peer_images' default is now "own").
LEGACY_VALUES: dict[str, Any] = {"mutual.peer_images": "same", "mutual.content_loss": "vgg"}


def read_saved_config(path: str | Path) -> RunConfig:
    """A run's saved config.yaml, migrated explicitly: a key in LEGACY_VALUES that the
    saved section lacks gets the value the run was trained with (said in the log)."""
    import logging

    from srdistill.methods import OWN_SECTION  # here: methods import this module

    path = Path(path)
    raw = read_yaml(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} is not a saved config (a mapping of sections)")
    flat = flatten(raw)
    for key, value in LEGACY_VALUES.items():
        section, leaf = key.split(".", 1)
        if key not in flat and isinstance(raw.get(section), dict):
            raw[section][leaf] = value
            if section != OWN_SECTION.get(str(raw.get("method")), section):
                continue  # another method's section: changes nothing this run computes
            logging.getLogger(__name__).info(
                "%s predates %s: read as %r, the behaviour it was trained with", path, key, value
            )
    return config_from_dict(raw)


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: config keys as written on the command line."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def changed_keys(
    old: RunConfig, new: RunConfig, ignore: frozenset[str] | set[str] = frozenset()
) -> list[str]:
    """Config keys whose values differ between two configs, sorted, leaving out ``ignore``.
    A config read back from a run folder gets today's defaults for keys added since it was
    written, so such keys count as changed only when ``new`` sets them otherwise."""
    a, b = flatten(old.to_dict()), flatten(new.to_dict())
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in ignore)


def short_repr(value: Any, limit: int = 60) -> str:
    """repr() cut to ``limit`` characters, for one-line messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def save_config(cfg: RunConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
