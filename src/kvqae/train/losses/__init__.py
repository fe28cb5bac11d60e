"""Training losses, one per module; each exposes a pure function on embeddings or logits.

- `contrastive`: in-batch InfoNCE with CLIP's learned temperature (symmetric or one-directional).
- `joint`: mono-modal + cross-modal, fused at the score level (fixed or learned weights) or at the loss level.
- `mlm`: masked language modelling over entity spans, with an output layer tied to the token embeddings.
- `entity_type`: entity-type classification of masked tokens (two linear layers with GELU).
"""
