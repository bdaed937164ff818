"""``train`` and ``eval``: training the motion model and evaluating predictors on held-out data."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError
from ..jobs import Progress
from .common import EXIT_OK, ProgressBar, say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the motion model (needs the train extra: torch)")
    p.add_argument("--config", default="default", help="tiny, default or large (default: default)")
    p.add_argument("--data", action="append", required=True, metavar="DIR[:WEIGHT]",
                   help="training dataset folder; repeat for a mixture, each drawn in proportion to its weight "
                        "(default 1), normalised by statistics over the mixture")
    p.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, metrics.jsonl, model.pt")
    p.add_argument("--steps", type=int, help="total steps over all stages (default: the configuration's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--no-resume", action="store_true", help="start over even if the run folder has a checkpoint")
    p.add_argument("--regression", action="store_true", help="train the direct-regression baseline instead")
    p.add_argument("--overwrite", action="store_true", help="with --no-resume: replace the run folder's files")
    p.add_argument("--init-from", type=Path, metavar="MODEL",
                   help="continue a trained motion model (model.pt, its run folder, or an exported model package "
                        "folder, whose weights are rebuilt from its graphs; a package has no VAE encoder, so only "
                        "--stages energy) in a new run: keep its VAE, train the later stages on from its weights")
    p.add_argument("--stages", metavar="LIST",
                   help="comma-separated stages a new run trains, of vae, diffusion, freq_attention, energy (default: "
                        "all; with --init-from all but vae). E.g. --init-from MODEL --stages energy adds a "
                        "motion-energy network to a model trained without one")
    p.add_argument("--batch-multiplier", type=int, default=1, metavar="N",
                   help="a new run's batches times N, learning rates unchanged (GPUs: about the same time per step "
                        "for N times the samples; default 1)")
    p.add_argument("--lr-scale", type=float, metavar="F",
                   help="a new run's learning rates times F (0 < F <= 10; a continuation on new data may want less "
                        "than its stored ones; default 1)")
    p.add_argument("--photo-realism", type=float, metavar="S",
                   help="a new run's training-time camera strength: sensor noise, JPEG, blur and defocus, chromatic "
                        "aberration, downscaling on the training images (0 off, 1 as designed; default: the "
                        "configuration's, off)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="settings",
                   help="a new run's training hyperparameter, e.g. --set energy_mean_weight=0 (repeatable; loss "
                        "weights, steps, batches, learning rates: the fields of TrainConfig that do not shape the "
                        "networks); stored in the run")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("eval", help="evaluate motion predictors on a held-out dataset against baselines")
    p.add_argument("--data", type=Path, required=True, help="held-out dataset folder")
    p.add_argument("--train-data", type=Path, help="training set (for the mean-spectrum baseline)")
    p.add_argument("--checkpoint", type=Path, action="append", default=[],
                   help="torch checkpoint (model.pt or regression.pt); repeat for several")
    p.add_argument("--model", action="append", default=[], help="ONNX model package name or folder; repeatable")
    p.add_argument("--seeds", default="0,1,2", help="sampling seeds, comma-separated (default 0,1,2)")
    p.add_argument("--steps", type=int, help="DDIM steps (default: the model's)")
    p.add_argument("--guidance", type=float,
                   help="classifier-free guidance of the diffusion models (default: each model's own; 1 = off)")
    p.add_argument("--no-energy-net", action="store_true",
                   help="evaluate the diffusion samples alone, without rescaling them to the models' motion-energy "
                        "networks")
    p.add_argument("--limit", type=int, help="evaluate only the first N samples")
    p.add_argument("--psnr-samples", type=int, default=16, help="samples whose true frames are rendered (default 16)")
    p.add_argument("-o", "--output", type=Path, help="write the report as JSON")
    p.set_defaults(run=cmd_eval)



def cmd_train(args: argparse.Namespace) -> int:
    try:
        from ..train.loop import train, train_regression
    except ImportError as exc:
        raise InputError(f"training needs PyTorch ({exc}). Install the train extra: "
                         "pip install -e '.[train]'.") from None
    bar = ProgressBar(args.quiet)
    token = Progress().cancel

    def on_progress(p) -> None:
        bar(p.stage_step, p.stage_steps, p.stage)

    if args.regression and (args.init_from is not None or args.stages):
        raise InputError("--init-from and --stages are for the motion model; the regression baseline always trains "
                         "its one stage from scratch. Drop --regression or the other option.")
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip()) if args.stages else None
    extra = {} if args.regression else {"init_from": args.init_from, "stages": stages}
    fn = train_regression if args.regression else train
    from ..train.data import parse_data_spec

    specs = [parse_data_spec(d) for d in args.data]
    data = specs[0][0] if len(specs) == 1 and specs[0][1] == 1.0 else specs
    extra["photo_realism"] = args.photo_realism
    if args.lr_scale is not None:
        if args.regression:
            raise InputError("--lr-scale is for the motion model's runs; drop it with --regression.")
        extra["lr_scale"] = args.lr_scale
    if args.settings:
        if args.regression:
            raise InputError("--set is for the motion model's runs; drop it with --regression.")
        extra["settings"] = tuple(args.settings)
    try:
        result = fn(args.config, data, args.out, steps=args.steps, resume=not args.no_resume, seed=args.seed,
                    device=args.device, progress=on_progress, cancel=lambda: token.cancelled,
                    overwrite=args.overwrite, batch_multiplier=args.batch_multiplier, **extra)
    finally:
        bar.close()
    say(args, f"trained: {result}")
    return EXIT_OK


def _torch_predictor(path: Path, steps: int | None, guidance: float | None, use_energy_net: bool = True
                     ) -> tuple[Callable, bool]:
    """``(predict(images, seed), stochastic)`` for a torch checkpoint: the motion model or the regression baseline."""
    try:
        from ..train.model import MotionModel, load_payload
        from ..train.regression import RegressionModel
    except ImportError as exc:
        raise InputError(f"evaluating a torch checkpoint needs PyTorch ({exc}); install the train extra.") from None
    payload = load_payload(path, (MotionModel.checkpoint_kind, RegressionModel.checkpoint_kind))
    if payload["kind"] == RegressionModel.checkpoint_kind:
        regression = RegressionModel.from_payload(payload, path)
        return (lambda images, seed: regression.predict(images)), False
    model = MotionModel.from_payload(payload, path)
    return (lambda images, seed: model.predict(images, seed=seed, steps=steps, guidance=guidance,
                                               use_energy_net=use_energy_net)), True


def cmd_eval(args: argparse.Namespace) -> int:
    from .. import evaluation as ev
    from ..data.shards import read_info

    try:
        seeds = [int(v) for v in args.seeds.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--seeds must be integers separated by commas, got {args.seeds!r}.") from None
    data = ev.load_test_set(read_info(args.data), limit=args.limit, psnr_samples=args.psnr_samples)
    predictors: dict[str, tuple] = {"zero motion": (ev.zero_motion(data.coeffs.shape[1]), [0])}
    if args.train_data:
        train = ev.load_test_set(read_info(args.train_data), limit=512)
        predictors["mean spectrum"] = (ev.mean_spectrum(train.coeffs), [0])
    for path in args.checkpoint:
        predict, stochastic = _torch_predictor(Path(path), args.steps, args.guidance, not args.no_energy_net)
        predictors[str(path)] = (predict, seeds if stochastic else [0])  # a deterministic model needs one run
    for name in args.model:
        from ..model.predict import package_predictor

        predictors[f"onnx:{name}"] = (package_predictor(name, steps=args.steps, guidance=args.guidance,
                                                        use_energy_net=not args.no_energy_net), seeds)
    report = {"data": str(args.data), "samples": int(len(data.images)), "results": {}}
    bar = ProgressBar(args.quiet)
    try:
        for name, (predict, predictor_seeds) in predictors.items():
            report["results"][name] = ev.evaluate(predict, data, seeds=predictor_seeds,
                                                  progress=lambda d, t, n=name: bar(d, t, n))
    finally:
        bar.close()
    keys = ("energy_corr", "moving_auc", "band_log_power_err", "psnr_db")
    print(f"{'predictor':40s} " + " ".join(f"{k:>22s}" for k in keys))
    for name, result in report["results"].items():
        print(f"{name[-40:]:40s} " + " ".join(f"{ev.format_metric(result, k):>22s}" for k in keys))
    if args.output:
        from ..atomic import atomic_output

        with atomic_output(args.output, overwrite=True) as tmp:
            tmp.write_text(json.dumps(report, indent=1))
        say(args, f"report: {args.output}")
    return EXIT_OK
