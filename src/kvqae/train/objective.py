"""What is optimised in each mode, computed on a collated batch, with an optional gradient cache.

`Objective.backward(batch, chunk)` computes the total loss and its gradients. With `chunk=None` it is one
plain forward/backward on the whole batch. With a chunk size it is the gradient cache (Gao et al. 2021): the
towers embed the batch chunk by chunk without gradients, the contrastive loss is computed on the full batch of
those embeddings and back-propagated to them only, then each chunk is embedded again with gradients and
receives its slice of the embedding gradient. Per-token losses (MLM, entity type) are summed chunk by chunk
and divided by the whole batch's token counts. The result equals the full-batch gradient while memory holds
one chunk's activations.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from kvqae.train.losses import contrastive, entity_type, joint, mlm
from kvqae.train.model import image_embeddings, text_embeddings, text_hidden_states

Tower = tuple[Callable[..., torch.Tensor], dict[str, torch.Tensor]]


@dataclass
class LossSwitches:
    """Which losses are on and their weights (entity pretraining; fine-tuning uses only `contrastive`)."""

    contrastive: bool = True
    mlm: bool = False
    entity_type: bool = False
    contrastive_weight: float = 1.0
    mlm_weight: float = 1.0
    type_weight: float = 1.0


def _slice(inputs: dict[str, torch.Tensor], start: int, stop: int) -> dict[str, torch.Tensor]:
    return {k: v[start:stop] for k, v in inputs.items()}


@contextlib.contextmanager
def _replay_rng(state: tuple[torch.Tensor, list[torch.Tensor] | None]) -> Iterator[None]:
    """Run a block with a saved RNG state (so dropout masks match between the two gradient-cache passes)."""
    devices = list(range(torch.cuda.device_count())) if state[1] is not None else []
    with torch.random.fork_rng(devices=devices):
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state_all(state[1])
        yield


def _rng_state() -> tuple[torch.Tensor, list[torch.Tensor] | None]:
    return torch.get_rng_state(), (torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None)


class Objective:
    """Losses of one training mode over a CLIPModel (+ entity-aware heads, + joint fusion weights).

    `mode`: "mono" | "cross" | "joint" | "entity". `symmetric`: InfoNCE in both directions (entity pretraining
    uses image -> text only by default). `joint_fusion`: "score" | "loss" (see `losses.joint`).
    `bidirectional_mlm`: the MLM/type heads read a non-causal pass of the text tower (see `model`).
    `autocast`: a context-manager factory wrapping every forward (bf16 on GPU), or None.
    """

    def __init__(
        self,
        mode: str,
        model: Any,
        *,
        heads: Any = None,
        weights: joint.LossWeights | None = None,
        symmetric: bool = True,
        joint_fusion: str = "score",
        switches: LossSwitches | None = None,
        bidirectional_mlm: bool = False,
        autocast: Callable[[], Any] | None = None,
    ) -> None:
        self.mode = mode
        self.model = model
        self.heads = heads
        self.weights = weights if weights is not None else joint.LossWeights()
        self.symmetric = symmetric
        self.joint_fusion = joint_fusion
        self.switches = switches or LossSwitches()
        self.bidirectional_mlm = bidirectional_mlm
        self.autocast = autocast or contextlib.nullcontext
        if mode != "entity":
            self.switches = LossSwitches(contrastive=True)
        if self.switches.mlm and (heads is None or heads.mlm is None):
            raise ValueError("MLM loss needs entity-aware heads with an MLM head")
        if self.switches.entity_type and (heads is None or heads.entity_type is None):
            raise ValueError("entity-type loss needs entity-aware heads with a type head")

    # --- towers and the contrastive part -------------------------------------------------------------
    def _image(self, pixel_values: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return image_embeddings(self.model, pixel_values).float()

    def _text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return text_embeddings(self.model, input_ids, attention_mask).float()

    def towers(self, batch: dict[str, torch.Tensor]) -> dict[str, Tower]:
        """Embedding functions and their inputs: `query` (images) and the targets of the mode."""
        text_inputs = {"input_ids": batch.get("input_ids"), "attention_mask": batch.get("attention_mask")}
        towers: dict[str, Tower] = {"query": (self._image, {"pixel_values": batch["pixel_values"]})}
        if self.mode in ("mono", "joint"):
            towers["image"] = (self._image, {"pixel_values": batch["target_pixel_values"]})
        if self.mode in ("cross", "joint", "entity"):
            towers["text"] = (self._text, text_inputs)
        return towers

    def logits(self, reps: dict[str, torch.Tensor]) -> torch.Tensor:
        """The (n, n) retrieval scores the mode targets: query image vs its targets."""
        scale = self.model.logit_scale
        if self.mode == "mono":
            return contrastive.similarity_logits(reps["query"], reps["image"], scale)
        if self.mode == "joint" and self.joint_fusion == "score":
            return joint.fused_logits(reps["query"], reps["image"], reps["text"], self.weights(), scale)
        if self.mode == "joint":  # loss-level fusion: rank by the same weighted sum of cosines
            w = self.weights().detach()
            return w[0] * contrastive.similarity_logits(reps["query"], reps["image"], scale) + w[
                1
            ] * contrastive.similarity_logits(reps["query"], reps["text"], scale)
        return contrastive.similarity_logits(reps["query"], reps["text"], scale)

    def contrastive_loss(self, reps: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.mode == "joint":
            return joint.compute_loss_from_embeddings(
                reps["query"],
                reps["image"],
                reps["text"],
                self.weights(),
                self.model.logit_scale,
                fusion=self.joint_fusion,
                symmetric=self.symmetric,
            )
        return contrastive.compute_loss_from_logits(self.logits(reps), symmetric=self.symmetric)

    # --- auxiliary per-token losses ------------------------------------------------------------------
    def aux_sums(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Summed MLM / type cross-entropies over the masked tokens of `batch` (one masked text pass)."""
        if not (self.switches.mlm or self.switches.entity_type):
            return {}
        with self.autocast():
            hidden = text_hidden_states(
                self.model,
                batch["masked_input_ids"],
                batch["attention_mask"],
                bidirectional=self.bidirectional_mlm,
            )
            # only masked positions feed the heads (saves a vocab-sized matmul over every token)
            where = batch["mlm_labels"] != mlm.IGNORE_INDEX
            picked = hidden[where]
            sums: dict[str, torch.Tensor] = {}
            if self.switches.mlm:
                logits = self.heads.mlm(picked)
                sums["mlm"] = mlm.compute_loss_from_logits(
                    logits, batch["mlm_labels"][where], reduction="sum"
                )
            if self.switches.entity_type:
                logits = self.heads.entity_type(picked)
                sums["type"] = entity_type.compute_loss_from_logits(
                    logits, batch["type_labels"][where], reduction="sum"
                )
        return sums

    def _aux_counts(self, batch: dict[str, torch.Tensor]) -> dict[str, int]:
        return {
            "mlm": int((batch["mlm_labels"] != mlm.IGNORE_INDEX).sum()),
            "type": int((batch["type_labels"] != entity_type.IGNORE_INDEX).sum()),
        }

    def _aux_total(
        self, sums: dict[str, torch.Tensor], counts: dict[str, int], parts: dict[str, float]
    ) -> torch.Tensor | None:
        total = None
        for name, weight in (("mlm", self.switches.mlm_weight), ("type", self.switches.type_weight)):
            if name in sums:
                term = sums[name] / max(counts[name], 1)
                parts[name] = parts.get(name, 0.0) + float(term.detach())
                total = weight * term if total is None else total + weight * term
        return total

    # --- loss and gradients --------------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss of the batch (with graph) and its parts as floats."""
        parts: dict[str, float] = {}
        total = None
        if self.switches.contrastive:
            reps = {name: fn(**inputs) for name, (fn, inputs) in self.towers(batch).items()}
            c = self.contrastive_loss(reps)
            parts["contrastive"] = float(c.detach())
            total = self.switches.contrastive_weight * c
        if self.mode == "entity" and (self.switches.mlm or self.switches.entity_type):
            aux = self._aux_total(self.aux_sums(batch), self._aux_counts(batch), parts)
            if aux is not None:
                total = aux if total is None else total + aux
        if total is None:
            raise ValueError("every loss is switched off")
        parts["total"] = float(total.detach())
        return total, parts

    def backward(self, batch: dict[str, torch.Tensor], chunk: int | None = None) -> dict[str, float]:
        """Compute the loss and accumulate its gradients (`chunk`: gradient-cache chunk size, None = off)."""
        n = batch["pixel_values"].shape[0]
        if chunk is None or chunk >= n:
            total, parts = self.loss(batch)
            total.backward()
            return parts
        parts: dict[str, float] = {}
        total_value = 0.0
        starts = range(0, n, chunk)
        if self.switches.contrastive:
            towers = self.towers(batch)
            reps: dict[str, torch.Tensor] = {}
            states: dict[tuple[str, int], Any] = {}
            for name, (fn, inputs) in towers.items():
                outs = []
                for s in starts:
                    states[(name, s)] = _rng_state()
                    with torch.no_grad():
                        outs.append(fn(**_slice(inputs, s, s + chunk)))
                reps[name] = torch.cat(outs).detach().requires_grad_(True)
            c = self.contrastive_loss(reps)
            (self.switches.contrastive_weight * c).backward()  # grads reach the cached embeddings + scale
            parts["contrastive"] = float(c.detach())
            total_value += self.switches.contrastive_weight * parts["contrastive"]
            for name, (fn, inputs) in towers.items():
                grad = reps[name].grad
                for s in starts:
                    with _replay_rng(states[(name, s)]):
                        out = fn(**_slice(inputs, s, s + chunk))
                    out.backward(grad[s : s + chunk])
        if self.mode == "entity" and (self.switches.mlm or self.switches.entity_type):
            counts = self._aux_counts(batch)
            for s in starts:
                sub = _slice(batch, s, s + chunk)
                aux = self._aux_total(self.aux_sums(sub), counts, parts)
                if aux is not None:
                    aux.backward()
            total_value += sum(
                w * parts.get(k, 0.0)
                for k, w in (("mlm", self.switches.mlm_weight), ("type", self.switches.type_weight))
            )
        parts["total"] = total_value
        return parts

    @torch.no_grad()
    def batch_mrr(self, batch: dict[str, torch.Tensor]) -> float:
        """In-batch MRR of the mode's retrieval scores (the model-selection criterion)."""
        reps = {name: fn(**inputs) for name, (fn, inputs) in self.towers(batch).items()}
        return contrastive.in_batch_mrr(self.logits(reps))
