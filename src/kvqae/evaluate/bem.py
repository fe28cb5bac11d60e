"""BEM-style answer equivalence: a sequence-pair classifier judges whether a candidate answer means the
same as a reference answer, given the question (Bulian et al. 2022 use a BERT classifier in this way).

Input to the classifier (one pair per reference): first segment = the candidate answer, second segment =
`"{reference} [SEP] {question}"` (the tokenizer's own separator token). The probability of label 1
("equivalent") is the score; the question's score is the maximum over its references, and an exact match
(SQuAD normalisation) scores 1 without asking the model, as in BEM's usage.
The classifier is loaded from a path or name with `AutoModelForSequenceClassification` (2 labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kvqae.errors import InputError
from kvqae.evaluate.answers import exact_match


class BemScorer:
    """Answer-equivalence scorer around a local sequence classifier (no network)."""

    def __init__(
        self,
        model: str | Path,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        max_length: int = 256,
        threshold: float = 0.5,
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from kvqae.safety import check_model_head

        path = Path(model)
        if not path.exists():
            raise InputError("BEM classifier not found (give a local directory)", path=path)
        check_model_head(path, "--scorer bem:", "ForSequenceClassification", "a sequence classifier")
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        loaded, info = AutoModelForSequenceClassification.from_pretrained(str(path), output_loading_info=True)
        if missing := [k for k in info.get("missing_keys", []) if "classifier" in k or "score" in k]:
            # a randomly initialised head scored 1.0 on one run and 0.0 on the next
            raise InputError(f"not a trained classifier: its weights lack {missing[0]!r}", path=path,
                             field="scorer")
        self.model = loaded.to(device).eval()
        if self.model.config.num_labels != 2:
            raise InputError(
                f"expected a 2-label classifier, got {self.model.config.num_labels} labels", path=path
            )
        self.device, self.batch_size, self.max_length, self.threshold = (
            device,
            batch_size,
            max_length,
            threshold,
        )
        self._torch = torch

    def pair(self, candidate: str, reference: str, question: str) -> tuple[str, str]:
        """The (first, second) text segments fed to the classifier for one reference."""
        sep = self.tokenizer.sep_token or "[SEP]"
        return candidate, f"{reference} {sep} {question}"

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(equivalent) for each (first, second) segment pair."""
        torch = self._torch
        out: list[float] = []
        for i in range(0, len(pairs), self.batch_size):
            batch = pairs[i : i + self.batch_size]
            enc = self.tokenizer(
                [a for a, _ in batch],
                [b for _, b in batch],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            with torch.no_grad():
                logits = self.model(**enc).logits
            out += torch.softmax(logits.float(), dim=-1)[:, 1].tolist()
        return out

    def score(
        self, candidates: Sequence[str], references: Sequence[Sequence[str]], questions: Sequence[str]
    ) -> list[float]:
        """Equivalence score in [0, 1] of each candidate: 1 on exact match, else max over its references of
        P(equivalent); 0 for an empty candidate or no reference."""
        if not (len(candidates) == len(references) == len(questions)):
            raise InputError("candidates, references and questions must have the same length")
        scores = [0.0] * len(candidates)
        pairs, owner = [], []
        for i, (cand, refs, q) in enumerate(zip(candidates, references, questions, strict=True)):
            if not cand.strip() or not refs:
                continue
            if exact_match(cand, refs) == 1.0:
                scores[i] = 1.0
                continue
            for ref in refs:
                pairs.append(self.pair(cand, ref, q))
                owner.append(i)
        for i, p in zip(owner, self.probabilities(pairs), strict=True):
            scores[i] = max(scores[i], p)
        return scores

    def accuracy(
        self, candidates: Sequence[str], references: Sequence[Sequence[str]], questions: Sequence[str]
    ) -> list[float]:
        """1.0 where the equivalence score reaches the threshold, else 0.0."""
        return [float(s >= self.threshold) for s in self.score(candidates, references, questions)]
