"""kvqae.train: CLIP fine-tuning (mono / cross / joint) and entity-aware pretraining (EA-CLIP).

Entry points: `kvqae.train.trainer.train_clip(TrainClipConfig)`, `kvqae.train.ablation.run_ablation`,
losses in `kvqae.train.losses.*`, and the `kvqae train ...` commands (`kvqae.train.cli`). See docs/train.md.
"""
