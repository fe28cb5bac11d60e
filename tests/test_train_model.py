"""[MASK] handling, tied heads surviving save/load, and the bidirectional masked pass."""

from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _load(path):
    from kvqae.train.model import load_clip

    return load_clip(str(path))


def _bpe_clip(tmp_path):
    """A tiny CLIP with a real CLIP BPE tokenizer (letters only, no [MASK]); bos/eos are the last ids."""
    from transformers import CLIPTokenizer

    from kvqae.encode.small_clip import build_small_clip

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = {tok: i for i, tok in enumerate(letters + [c + "</w>" for c in letters])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    tok.save_pretrained(tmp_path / "tok")
    return build_small_clip(tmp_path / "bpe-clip", "tiny", tokenizer=tmp_path / "tok")


def test_wordpiece_clip_already_has_mask(tiny_clip):
    from kvqae.train.model import ensure_mask_token

    model, tok, _ = _load(tiny_clip)
    rows = model.text_model.embeddings.token_embedding.weight.shape[0]
    assert ensure_mask_token(model, tok) == tok.convert_tokens_to_ids("[MASK]") == 103
    assert model.text_model.embeddings.token_embedding.weight.shape[0] == rows


def test_bpe_clip_gets_mask_token_heads_tied_and_both_survive_save_load(tmp_path):
    from kvqae.train.model import EntityAwareHeads, ensure_mask_token, text_embeddings

    model, tok, proc = _load(_bpe_clip(tmp_path))
    assert tok.mask_token is None
    n_vocab = len(tok)
    model.config.text_config.eos_token_id = 2  # legacy CLIP config: pools the highest token id
    model.text_model.eos_token_id = 2
    enc = tok(["abc", "hello"], padding=True, return_tensors="pt")
    with torch.no_grad():
        before = text_embeddings(model, enc["input_ids"], enc["attention_mask"])
    mask_id = ensure_mask_token(model, tok)
    assert mask_id == n_vocab and tok.mask_token == "[MASK]"
    assert model.config.text_config.vocab_size == n_vocab + 1
    with torch.no_grad():  # switching to first-eos pooling keeps every normal text's embedding
        after = text_embeddings(model, enc["input_ids"], enc["attention_mask"])
    assert torch.allclose(before, after, atol=1e-6)

    heads = EntityAwareHeads(model, ["building", "person"])
    emb = model.text_model.embeddings.token_embedding
    assert heads.mlm.is_tied(emb)
    with torch.no_grad():
        heads.mlm.bias.fill_(0.25)
        heads.entity_type.classifier.bias.copy_(torch.tensor([1.0, -1.0]))
    out = tmp_path / "saved"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    proc.save_pretrained(out)
    heads.save(out)

    model2, tok2, _ = _load(out)
    assert tok2.mask_token == "[MASK]" and tok2.mask_token_id == mask_id
    assert tok2.tokenize("ab [MASK]")[-1] == "[MASK]"
    heads2 = EntityAwareHeads.load(out, model2)
    emb2 = model2.text_model.embeddings.token_embedding
    assert heads2.mlm.decoder.weight.data_ptr() == emb2.weight.data_ptr()
    assert torch.equal(emb2.weight, emb.weight)
    assert heads2.types == ["building", "person"]
    assert torch.all(heads2.mlm.bias == 0.25)
    assert heads2.entity_type.classifier.bias.tolist() == [1.0, -1.0]
    # still tied after reload: changing the embedding changes the MLM output
    with torch.no_grad():
        emb2.weight[mask_id].add_(1.0)
    assert torch.equal(heads2.mlm.decoder.weight[mask_id], emb2.weight[mask_id])


def test_bidirectional_pass_sees_the_right_context_causal_does_not(tiny_clip):
    from kvqae.train.model import text_hidden_states

    model, tok, _ = _load(tiny_clip)
    model.eval()
    a = tok(["red tower stands", "red tower falls"], padding=True, return_tensors="pt")
    with torch.no_grad():
        causal = text_hidden_states(model, a["input_ids"], a["attention_mask"])
        bidir = text_hidden_states(model, a["input_ids"], a["attention_mask"], bidirectional=True)
        reference = model.text_model(
            input_ids=a["input_ids"], attention_mask=a["attention_mask"]
        ).last_hidden_state
    assert torch.equal(causal, reference)
    # the texts differ only from position 3: causal states before it are equal, bidirectional ones are not
    assert torch.allclose(causal[0, :3], causal[1, :3], atol=1e-6)
    assert not torch.allclose(bidir[0, :3], bidir[1, :3], atol=1e-4)


def test_bidirectional_pass_ignores_padding(tiny_clip):
    from kvqae.train.model import text_hidden_states

    model, tok, _ = _load(tiny_clip)
    model.eval()
    short = tok(["red tower"], return_tensors="pt")
    padded = tok(["red tower", "a much longer text with more words"], padding=True, return_tensors="pt")
    n = short["input_ids"].shape[1]
    with torch.no_grad():
        alone = text_hidden_states(model, short["input_ids"], short["attention_mask"], bidirectional=True)
        in_batch = text_hidden_states(
            model, padded["input_ids"], padded["attention_mask"], bidirectional=True
        )
    assert torch.allclose(alone[0], in_batch[0, :n], atol=1e-5)


def test_heads_load_without_heads_file_is_an_input_error(tiny_clip):
    from kvqae.errors import InputError
    from kvqae.train.model import EntityAwareHeads

    model, _, _ = _load(tiny_clip)
    with pytest.raises(InputError, match="no entity-aware heads"):
        EntityAwareHeads.load(tiny_clip, model)
