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


def choices(*values: str) -> dict:
    return {"choices": values}


@dataclass
class ModelOptions:
    """Base of every architecture's options (``model:``): the architecture's name. Each
    architecture subclasses it with its own fields and registers it (models/registry.py)."""

    arch: str = "srresnet"

    def check(self, cfg: RunConfig) -> None:
        """Raise ConfigError (one line) for values this architecture cannot take."""


@dataclass
class DataConfig:
    train: list[str] = field(default_factory=lambda: ["DIV2K_train"])
    val: str = "Set5"
    val_max_images: int | None = None
    patch_size: int = 96  # HR patch side; the LR patch is patch_size / scale
    augment: bool = True
    on_bad_image: str = field(default="skip", metadata=choices("skip", "stop"))
    max_pixels: int | None = None  # largest image decoded; None: Pillow's default limit
    num_workers: int = 0


@dataclass
class OptimConfig:
    lr: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    # "step": lr *= gamma at each milestone; "cosine": half-cosine from lr to min_lr over
    # train.steps. Both start with warmup_steps of linear warm-up (0: none).
    schedule: str = field(default="step", metadata=choices("step", "cosine"))
    milestones: list[int] = field(default_factory=list)  # steps at which lr *= gamma
    gamma: float = 0.5
    warmup_steps: int = 0
    min_lr: float = 0.0
    # The span the cosine is drawn over (null: train.steps). Continuing a run for more
    # steps redraws the cosine over the new train.steps unless this keeps the old span
    # (the LR then stays at min_lr after it).
    cosine_steps: int | None = None


@dataclass
class TrainConfig:
    steps: int = 100_000
    batch_size: int = 16
    # fp32 | bf16 (autocast) | fp16 (autocast with a gradient scaler)
    precision: str = field(default="fp32", metadata=choices("fp32", "bf16", "fp16"))
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
    # torch.compile the trained networks in place (nn.Module.compile: the same weights,
    # names and checkpoints). Pays on GPUs; on a CPU it needs a C++ compiler and the first
    # steps (and the first validation) wait for compilation.
    compile: bool = False
    progress: bool = True


# Registries filled by the architectures (models/) and methods (methods/) when they are
# imported. config.py names none of them: a user's own architecture or method registers
# the same way, and its options are validated like the built-in ones.
@dataclass(frozen=True)
class ModelEntry:
    options: type  # a ModelOptions subclass
    multi_exit: bool  # the network has exits (self-distillation's kind)


@dataclass(frozen=True)
class MethodEntry:
    section: str  # the config section holding the method's options
    options: type  # a MethodOptions subclass


MODEL_OPTIONS: dict[str, ModelEntry] = {}
METHOD_OPTIONS: dict[str, MethodEntry] = {}
DEFAULT_ARCH = "srresnet"
DEFAULT_METHOD = "plain"


class MethodOptions:
    """Base of a method's options dataclass (its config section)."""

    def check(self, cfg: RunConfig, active: bool) -> None:
        """Raise ConfigError (one line) for values this method cannot take; ``active``: the
        run trains this method (checks that concern the whole run apply only then)."""


def register_model_options(arch: str, options: type, multi_exit: bool = False) -> None:
    """Declare the config options of architecture ``arch`` (``model: {arch: ..., ...}``)."""
    _check_options_class(options, ModelOptions, f"architecture {arch!r}")
    MODEL_OPTIONS[arch] = ModelEntry(options, multi_exit)


def register_method_options(method: str, section: str, options: type) -> None:
    """Declare the config section of training method ``method`` and its options class."""
    _check_options_class(options, MethodOptions, f"method {method!r}")
    shared = {f.name for f in dataclasses.fields(RunConfig)}
    taken = {e.section: m for m, e in METHOD_OPTIONS.items() if m != method}
    if section in shared or section in taken:
        owner = taken.get(section, "the shared config")
        raise ConfigError(f"method {method!r}: config section {section!r} belongs to {owner}")
    METHOD_OPTIONS[method] = MethodEntry(section, options)


def _check_options_class(options: type, base: type, who: str) -> None:
    if not (isinstance(options, type) and dataclasses.is_dataclass(options)):
        raise ConfigError(f"{who}: options must be a dataclass, got {options!r}")
    if not issubclass(options, base):
        raise ConfigError(f"{who}: options class {options.__name__} must subclass {base.__name__}")


def _default_model() -> ModelOptions:
    if DEFAULT_ARCH not in MODEL_OPTIONS:
        raise ConfigError(
            f"no architecture is registered (not even {DEFAULT_ARCH}): build configs through "
            "srdistill.config, which loads the built-ins and plugins, or import srdistill.models"
        )
    return MODEL_OPTIONS[DEFAULT_ARCH].options()


def _default_sections() -> dict[str, Any]:
    return {e.section: e.options() for e in METHOD_OPTIONS.values()}


@dataclass
class RunConfig:
    name: str = "run"
    output_dir: str = "runs"
    seed: int = 0
    scale: int = 4
    method: str = DEFAULT_METHOD  # a registered method (METHOD_OPTIONS)
    model: Any = field(default_factory=_default_model)  # the arch's ModelOptions subclass
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # Each registered method's options, by section name; read as attributes (cfg.kd).
    sections: dict[str, Any] = field(default_factory=_default_sections, repr=False)

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections")  # absent while unpickling
        if sections is not None and name in sections:
            return sections[name]
        raise AttributeError(f"RunConfig has no section or field {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data, one mapping per section, as written in config files."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "sections":
                out.update({k: dataclasses.asdict(v) for k, v in value.items()})
            else:
                out[f.name] = (
                    dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
                )
        return out

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


def all_config_keys() -> list[str]:
    """Every key a config may set, with every registered architecture and method."""
    hints = typing.get_type_hints(RunConfig)
    keys = []
    for f in dataclasses.fields(RunConfig):
        if f.name == "sections":
            continue
        keys.append(f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            keys += _all_keys(hints[f.name], f.name + ".")
    for entry in MODEL_OPTIONS.values():
        keys += [k for k in _all_keys(entry.options, "model.") if k not in keys]
    for entry in METHOD_OPTIONS.values():
        keys += [entry.section] + _all_keys(entry.options, entry.section + ".")
    return keys


def _unknown_key(key: str, cls: type, prefix: str) -> ConfigError:
    valid = [prefix + f.name for f in dataclasses.fields(cls)]
    pool = valid + [k for k in all_config_keys() if k not in valid and k != "sections"]
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


def _build_run(raw: dict) -> RunConfig:
    """RunConfig from plain data: the ``model`` section is validated by the options of the
    architecture it names, each method's section by that method's options."""
    if not isinstance(raw, dict):
        raise ConfigError(f"a config must be a mapping of keys, got {short_repr(raw)}")
    raw = dict(raw)
    model_raw = raw.pop("model", None) or {}
    if not isinstance(model_raw, dict):
        raise ConfigError(f"config section 'model' must be a mapping, got {model_raw!r}")
    by_section = {e.section: e for e in METHOD_OPTIONS.values()}
    section_raw = {k: raw.pop(k) for k in list(raw) if k in by_section}
    if "sections" in raw:
        raise _unknown_key("sections", RunConfig, "")
    cfg = _build(RunConfig, raw)
    arch = model_raw.get("arch", DEFAULT_ARCH)
    if arch not in MODEL_OPTIONS:
        raise _unknown_choice("model.arch", arch, list(MODEL_OPTIONS))
    cfg.model = _build(MODEL_OPTIONS[arch].options, model_raw, "model.")
    for section, value in section_raw.items():
        cfg.sections[section] = _build(by_section[section].options, value or {}, section + ".")
    return cfg


def _unknown_choice(key: str, value: Any, choices: list[str]) -> ConfigError:
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(
        f"config key '{key}' must be one of {', '.join(choices)}; got {short_repr(value)}{hint}"
    )


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
    if cfg.method not in METHOD_OPTIONS:
        raise _unknown_choice("method", cfg.method, list(METHOD_OPTIONS))
    cfg.model.check(cfg)
    own = METHOD_OPTIONS[cfg.method].section
    for section, options in cfg.sections.items():
        options.check(cfg, active=section == own)
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
    if cfg.optim.warmup_steps < 0 or cfg.optim.warmup_steps >= cfg.train.steps:
        raise bad("optim.warmup_steps must lie in 0..train.steps-1")
    span = cfg.optim.cosine_steps
    if span is not None and not (isinstance(span, int) and span > cfg.optim.warmup_steps):
        raise bad(
            f"optim.cosine_steps must be a step count above optim.warmup_steps "
            f"({cfg.optim.warmup_steps}), or null for train.steps; got {short_repr(span)}"
        )
    if cfg.optim.min_lr < 0 or cfg.optim.min_lr > cfg.optim.lr:
        raise bad("optim.min_lr must lie in [0, optim.lr]")
    o, d = cfg.optim, cfg.data
    check_range("data.patch_size", d.patch_size, cfg.scale, 4096)
    check_range("data.num_workers", d.num_workers, 0, 256)
    if d.val_max_images is not None and d.val_max_images < 1:
        raise bad("data.val_max_images must be at least 1 (or null for all)")
    if d.max_pixels is not None and d.max_pixels < 1:
        raise bad("data.max_pixels must be at least 1 (or null for the default)")
    if isinstance(cfg.seed, bool) or not 0 <= cfg.seed < 2**32:
        # torch, numpy and Python's random all take this range; larger ones overflow.
        raise bad(f"seed must be an integer in 0..{2**32 - 1}; got {short_repr(cfg.seed)}")
    if cfg.train.threads is not None and cfg.train.threads < 1:
        raise bad("train.threads must be at least 1 (or null for torch's default)")
    check_positive("optim.lr", o.lr)
    if len(o.betas) != 2 or not all(0 <= b < 1 for b in o.betas):
        raise bad(f"optim.betas must be two numbers in [0, 1), e.g. [0.9, 0.999]; got {o.betas}")
    if not math.isfinite(o.weight_decay) or o.weight_decay < 0:
        raise bad("optim.weight_decay must be a finite number >= 0")
    if not 0 < o.gamma <= 1 or any(s < 1 for s in o.milestones):
        raise bad("optim.gamma must lie in (0, 1] and optim.milestones be positive steps")
    ema = cfg.train.ema_decay
    if ema is not None and not (isinstance(ema, float | int) and 0 < ema < 1):
        raise bad(f"train.ema_decay must lie in (0, 1), e.g. 0.999 (or null for none); got {ema}")
    clip = cfg.train.grad_clip
    if clip is not None and not (math.isfinite(clip) and clip > 0):
        # inf would clip nothing yet still pay for the norm; NaN would poison every step.
        raise bad(
            f"train.grad_clip must be a finite positive number (or null for none); got {clip}"
        )
    return cfg


def check_range(key: str, value: int, low: int, high: int) -> None:
    """One-line ConfigError unless ``low <= value <= high`` (for options' ``check``)."""
    if not low <= value <= high:
        raise ConfigError(f"{key} must lie in {low}..{high}; got {value}")


def check_non_negative(key: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{key} must be a finite number >= 0; got {value}")


def check_positive(key: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{key} must be a finite positive number; got {value}")


def is_multi_exit(cfg: RunConfig) -> bool:
    """Whether the configured architecture has exits (the multi-exit kind)."""
    return MODEL_OPTIONS[cfg.model.arch].multi_exit


def require_single_output(cfg: RunConfig) -> None:
    """For methods that train a network with one output (every method but self-distillation)."""
    if is_multi_exit(cfg):
        plain = cfg.model.arch.removeprefix("multi_exit_")
        hint = f"set model.arch: {plain}" if plain in MODEL_OPTIONS else "choose a plain model.arch"
        raise ConfigError(
            f"method {cfg.method} trains a network with one output: {hint} "
            f"({cfg.model.arch} belongs to method self_distill)"
        )


def config_from_dict(raw: dict) -> RunConfig:
    return _validate(_build_run(raw))


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


def _checked_presets(presets: object, path: object) -> dict[str, dict]:
    """A config file's ``presets``: a mapping of names to mappings of config keys (an empty
    preset may be left blank). Checked whether or not a preset is asked for."""
    where = f"in {path}" if path else "in the config"
    if presets is None:
        return {}
    if not isinstance(presets, dict):
        raise ConfigError(
            f"'presets' {where} must map preset names to config keys (e.g. presets: "
            f"{{quick: {{train: {{steps: 100}}}}}}); got {short_repr(presets)}"
        )
    out: dict[str, dict] = {}
    for name, block in presets.items():
        if not isinstance(name, str):
            raise ConfigError(f"preset name {short_repr(name)} {where} must be text")
        if block is not None and not isinstance(block, dict):
            raise ConfigError(
                f"preset '{name}' {where} must be a mapping of config keys; got {short_repr(block)}"
            )
        out[name] = block or {}
    return out


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
    presets = _checked_presets(raw.pop("presets", {}), path)
    if preset:
        if preset not in presets:
            have = ", ".join(presets) or "none"
            raise ConfigError(f"preset '{preset}' not in {path}; available: {have}")
        raw = deep_merge(raw, presets[preset])
    file_model = raw.get("model") if isinstance(raw.get("model"), dict) else {}
    given: dict = {}
    for text in overrides or []:
        given = deep_merge(given, parse_override(text))
    raw = deep_merge(raw, given)
    if isinstance(raw.get("model"), dict) and isinstance(given.get("model"), dict):
        raw["model"] = _retarget_model(file_model, raw["model"], given["model"])
    return config_from_dict(raw)


def _retarget_model(file_model: dict, merged: dict, given: dict) -> dict:
    """An override that switches model.arch keeps the file's model keys the new
    architecture also has (sizes carry over) and drops the others, saying so; keys given
    on the command line are all kept, so a mistyped one is still an error."""
    old_arch = file_model.get("arch", DEFAULT_ARCH)
    new_arch = merged.get("arch", DEFAULT_ARCH)
    if new_arch == old_arch or new_arch not in MODEL_OPTIONS:
        return merged
    known = {f.name for f in dataclasses.fields(MODEL_OPTIONS[new_arch].options)}
    dropped = sorted(k for k in file_model if k not in known and k not in given)
    if dropped:
        import logging

        logging.getLogger(__name__).info(
            "model.arch %s -> %s: dropped the config's %s (not options of %s)",
            old_arch,
            new_arch,
            ", ".join(f"model.{k}" for k in dropped),
            new_arch,
        )
    return {k: v for k, v in merged.items() if k not in dropped}


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

    path = Path(path)
    raw = read_yaml(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} is not a saved config (a mapping of sections)")
    flat = flatten(raw)
    for key, value in LEGACY_VALUES.items():
        section, leaf = key.split(".", 1)
        if key not in flat and isinstance(raw.get(section), dict):
            raw[section][leaf] = value
            entry = METHOD_OPTIONS.get(str(raw.get("method")))
            if entry is not None and section != entry.section:
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
