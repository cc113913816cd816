"""More PyTorch programs in the shapes users arrive with, run on axon unchanged.

Each program in ``programs/`` named here runs on axon (imports rewritten by
``runner.as_axon``) and then on torch from axon's initial weights; random draws inside
training come from NumPy or Python's ``random``, so both runs see the same numbers and
their results must agree to float32 precision.
"""

import math
import re

import numpy as np
import pytest

from tests.compat import runner
from tests.helpers import assert_close, assert_differs

F32 = {"rtol": 1e-4, "atol": 1e-5}


def both(name, **kwargs):
    """Program ``name`` run on axon, then on torch from axon's initial state."""
    ours = runner.load(name, "axon").run(**kwargs)
    theirs = runner.load(name, "torch").run(initial=ours["initial"], **kwargs)
    return ours, theirs


def test_vae_reparameterisation_and_kl():
    ours, theirs = both("vae")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(np.array(ours["parts"]), np.array(theirs["parts"]), **F32)
    assert_close(ours["recon"], theirs["recon"], **F32)
    assert ours["losses"][-1] < ours["losses"][0]
    assert ours["noise_shape"] == (4, 4) and ours["noise_is_float"]
    samples = ours["samples"]  # from axon's own generator: only its range is torch's
    assert samples.shape == (16, 64) and ((samples > 0) & (samples < 1)).all()


def test_dcgan_two_optimizers_and_detach():
    ours, theirs = both("dcgan")
    for key in ("G_losses", "D_losses", "D_x"):
        assert_close(ours[key], theirs[key], **F32, msg=key)
    assert_close(ours["fixed"], theirs["fixed"], **F32)
    assert_close(ours["running_var"], theirs["running_var"], **F32)
    assert ours["fixed"].shape == (2, 1, 16, 16)
    assert ours["D_x"][-1] > ours["D_x"][0]  # the discriminator learns the real images


def test_word_lstm_language_model_and_packed_batches():
    ours, theirs = both("word_lstm")
    for key in ("losses", "norms", "val_losses", "unpacked", "h_n", "grad_embedding"):
        assert_close(ours[key], theirs[key], **F32, msg=key)
    assert ours["lrs"] == theirs["lrs"] and ours["lrs"][-1] < ours["lrs"][0]
    assert ours["ppl"] == pytest.approx(theirs["ppl"], rel=1e-5)
    for key in ("out_lengths", "batch_sizes", "sorted_indices"):
        assert np.array_equal(ours[key], theirs[key]), key
    assert max(ours["norms"]) > 0.25  # clipping had something to clip
    assert (ours["unpacked"][0, 3:] == 0).all()  # the short sentence is padded with zeros


def test_seq2seq_gru_with_bahdanau_attention():
    ours, theirs = both("seq2seq_attention")
    assert ours["forced"] == theirs["forced"]
    assert any(map(any, ours["forced"])) and not all(map(all, ours["forced"]))
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert np.array_equal(ours["decoded"], theirs["decoded"])
    assert_close(ours["attentions"], theirs["attentions"], **F32)
    assert_close(ours["attentions"].sum(-1), np.ones((3, 5)), rtol=1e-6, atol=1e-6)


def test_d2l_vgg_blocks_with_init_and_cosine_schedule():
    ours, theirs = both("d2l_vgg")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["lrs"], theirs["lrs"], rtol=1e-12, atol=0)
    assert_close(ours["train_accs"], theirs["train_accs"], rtol=0, atol=1e-6)
    assert_close(ours["test_accs"], theirs["test_accs"], rtol=0, atol=1e-6)
    assert ours["shapes"] == theirs["shapes"]
    # axon's own kaiming_normal_(mode="fan_out"): std sqrt(2 / (4 * 3 * 3)) over 36 draws
    assert abs(ours["init_std"] / math.sqrt(2 / 36) - 1) < 0.4


def test_text_classifier_with_embedding_bag_offsets():
    ours, theirs = both("text_embeddingbag")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert ours["accs"] == theirs["accs"]
    assert_close(ours["lrs"], theirs["lrs"], rtol=1e-12, atol=0)
    assert ours["lrs"][-1] < ours["lrs"][0]  # StepLR stepped once the accuracy stalled
    assert np.array_equal(ours["offsets"], [0, 2, 3])
    assert_close(ours["probs"], theirs["probs"], **F32)
    assert_close(ours["weighted"], theirs["weighted"], **F32)


def test_transformer_encoder_classifier_with_padding_mask():
    ours, theirs = both("transformer_classifier")
    assert ours["n_params"] == theirs["n_params"]
    assert_close(ours["lrs"], theirs["lrs"], rtol=1e-10, atol=1e-15)
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["logits"], theirs["logits"], **F32)
    assert abs(ours["accuracy"] - theirs["accuracy"]) < 1e-6
    # more padding leaves the logits alone, as in torch
    assert_close(ours["longer_logits"], ours["logits"][:4], **F32)
    for key in ("attn_weights", "attn_output", "x_grad"):
        assert_close(ours[key], theirs[key], **F32, msg=key)


def test_hooks_freezing_param_groups_gradient_penalty_and_save():
    ours, theirs = both("finetune_tricks")
    assert ours["log"] == theirs["log"]
    assert_close(ours["penalties"], theirs["penalties"], **F32)
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["tanh1"], theirs["tanh1"], **F32)
    assert_close(ours["out"], theirs["out"], **F32)
    for key in ("hooked_shapes", "trainable", "group_lrs", "momentum_keys"):
        assert ours[key] == theirs[key], key
    for key in ("hooks_removed", "frozen_still", "frozen_grad_kept", "same"):
        assert ours[key] and theirs[key], key
    assert not ours["out_requires_grad"]


def test_resnet_with_init_loop_accumulation_and_custom_function():
    ours, theirs = both("resnet_accumulate")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["lrs"], theirs["lrs"], rtol=1e-12, atol=0)
    assert_close(ours["logits"], theirs["logits"], **F32)
    assert ours["top2_acc"] == theirs["top2_acc"]
    assert ours["zero_bn2"] == 0.0  # the last BN of each residual branch starts at zero
    assert ours["n_convs"] == theirs["n_convs"] == 6
    assert ours["num_batches_tracked"] == theirs["num_batches_tracked"] == 12


def test_unet_with_skip_connections_and_dice_loss():
    ours, theirs = both("unet_segmentation")
    assert_close(ours["losses"], theirs["losses"], **F32)
    for key in ("logits", "coarse", "nearest"):
        assert_close(ours[key], theirs[key], **F32, msg=key)
    assert ours["iou"] == pytest.approx(theirs["iou"], rel=1e-5)
    assert ours["lr"] == pytest.approx(theirs["lr"], rel=1e-12)
    assert ours["losses"][-1] < ours["losses"][0]


def test_distillation_with_ema_and_triplet_embedding():
    ours, theirs = both("distill_ema")
    for key in ("losses", "ema_logits", "triplet_losses", "distances", "cosine"):
        assert_close(ours[key], theirs[key], **F32, msg=key)
    assert ours["agreement"] == theirs["agreement"]
    assert not ours["ema_requires_grad"]
    assert_close(np.diag(ours["cosine"]), np.ones(5), rtol=1e-6, atol=1e-6)


def numbers(line):
    """The numbers in a log line, and the line with them blanked out."""
    pattern = r"-?\d+\.?\d*"
    return [float(v) for v in re.findall(pattern, line)], re.sub(pattern, "#", line)


def test_mnist_example_script_without_dropout():
    ours, theirs = both("mnist_example", dropout=(0.0, 0.0))
    assert len(ours["log"]) == len(theirs["log"]) == 9
    for mine, torch_line in zip(ours["log"], theirs["log"], strict=True):
        (a, text_a), (b, text_b) = numbers(mine), numbers(torch_line)
        assert text_a == text_b
        assert_close(a, b, rtol=1e-5, atol=2e-6, msg=mine)  # 6 printed decimals
    for (loss, correct), (loss_t, correct_t) in zip(
        ours["results"], theirs["results"], strict=True
    ):
        assert loss == pytest.approx(loss_t, rel=1e-5) and correct == correct_t
    assert ours["lr"] == pytest.approx(theirs["lr"], rel=1e-12)
    assert ours["results"][-1][0] < ours["results"][0][0]


def test_mnist_example_script_with_dropout_trains():
    out = runner.load("mnist_example", "axon").run(epochs=2)  # axon's own dropout masks
    assert len(out["log"]) == 6 and all(math.isfinite(loss) for loss, _ in out["results"])


def test_timeseries_windows_early_stopping_and_rollout():
    ours, theirs = both("timeseries_forecast")
    assert ours["n_windows"] == theirs["n_windows"] == (78, 30)
    assert ours["item_shape"] == theirs["item_shape"] == (12, 1)
    assert ours["stopped_at"] == theirs["stopped_at"]
    for key in ("train_losses", "val_losses", "forecast"):
        assert_close(ours[key], theirs[key], **F32, msg=key)
    assert ours["best_loss"] == pytest.approx(min(ours["val_losses"]))


def test_gradcam_saliency_and_fgsm():
    ours, theirs = both("gradcam_fgsm")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert ours["cls"] == theirs["cls"] and ours["grad_shape"] == (1, 8, 4, 4)
    for key in ("heatmap", "upsampled", "saliency"):
        assert_close(ours[key], theirs[key], **F32, msg=key)
    assert ours["accuracies"] == theirs["accuracies"]
    assert ours["accuracies"][-1] < ours["accuracies"][0]  # the attack works


def test_bilstm_crf_forward_algorithm_and_viterbi():
    ours, theirs = both("bilstm_crf")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert ours["before_path"] == theirs["before_path"] and ours["path"] == theirs["path"]
    assert len(ours["path"]) == 11 and set(ours["path"]) <= {0, 1, 2}
    assert ours["score"] == pytest.approx(theirs["score"], rel=1e-5)
    assert ours["before_score"] == pytest.approx(theirs["before_score"], rel=1e-5)
    assert_close(ours["transitions"], theirs["transitions"], **F32)
    assert_close(ours["feats"], theirs["feats"], **F32)
    assert ours["losses"][-2] < ours["losses"][0]


def test_dqn_with_replay_memory_and_soft_target_updates():
    ours, theirs = both("dqn_chain")
    assert ours["actions"] == theirs["actions"] and ours["durations"] == theirs["durations"]
    assert len(ours["losses"]) == len(theirs["losses"]) > 10
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["q_values"], theirs["q_values"], **F32)
    assert_close(ours["target_weight"], theirs["target_weight"], **F32)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's own nested-tensor and mask notes
def test_transformer_translation_tutorial_shape():
    ours, theirs = both("transformer_translation")
    assert ours["n_params"] == theirs["n_params"]
    assert_close(ours["lrs"], theirs["lrs"], rtol=1e-12, atol=0)
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert ours["decoded"] == theirs["decoded"]
    assert all(seq[0] == 1 for seq in ours["decoded"])  # each starts at BOS
    assert np.array_equal(ours["mask"], theirs["mask"])


def test_style_transfer_with_lbfgs_over_the_image():
    # float64: the whole LBFGS run tracks torch's (float32 round-off grows tenfold per
    # evaluation on this ill-conditioned problem, so only its first steps are compared)
    ours, theirs = both("style_transfer", dtype="float64")
    assert len(ours["log"]) == len(theirs["log"]) > 7
    assert_close(np.array(ours["log"]), np.array(theirs["log"]), rtol=1e-8, atol=1e-10)
    assert_close(ours["image"], theirs["image"], rtol=1e-8, atol=1e-10)
    assert ours["image"].dtype == np.float64 and ours["image"].min() >= 0
    assert ours["names"] == theirs["names"]
    assert ours["names"][-2:] == ["content_loss_3", "style_loss_3"]  # trimmed after the last
    assert ours["trainable"] == theirs["trainable"] == 0
    assert ours["log"][-1][0] < ours["log"][0][0] / 10  # the style is being matched
    ours, theirs = both("style_transfer", num_steps=2)
    assert ours["image"].dtype == np.float32
    assert_close(np.array(ours["log"][:3]), np.array(theirs["log"][:3]), rtol=1e-4, atol=1e-6)


def test_nanogpt_style_tied_weights_param_groups_and_cosine_warmup():
    ours, theirs = both("nanogpt_style")
    assert ours["state_keys"] == theirs["state_keys"]
    assert {"lm_head.weight", "transformer.wte.weight"} <= set(ours["state_keys"])
    assert ours["tied"] and theirs["tied"]
    assert ours["n_params"] == theirs["n_params"]  # the tied matrix counted once
    assert ours["groups"] == theirs["groups"]
    assert ours["lrs"] == theirs["lrs"]
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["evals"], theirs["evals"], **F32)
    assert np.array_equal(ours["generated"], theirs["generated"])
    assert ours["evals"][-1] < ours["evals"][0]
    # axon's own init: N(0, 0.02), and 0.02 / sqrt(2 * n_layer) for the c_proj weights
    first = runner.load("nanogpt_style", "axon").run(max_iters=0)["initial"]
    proj = np.concatenate([v.ravel() for k, v in first.items() if k.endswith("c_proj.weight")])
    assert abs(proj.std() / 0.01 - 1) < 0.1
    assert abs(first["transformer.wpe.weight"].std() / 0.02 - 1) < 0.2


def test_gcn_from_scratch_with_index_add_message_passing():
    ours, theirs = both("gcn_scratch")
    assert ours["n_edges"] == theirs["n_edges"] == 60
    assert_close(ours["norm"], theirs["norm"], rtol=1e-6, atol=1e-7)
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert ours["accs"] == theirs["accs"]
    assert ours["losses"][-1] < ours["losses"][0]
    for key in ("sparse_way", "dense_way"):
        assert_close(ours[key], theirs[key], **F32, msg=key)
    assert_close(ours["sparse_way"], ours["dense_way"], rtol=1e-5, atol=1e-6)


def test_amp_boilerplate_switched_off_on_the_cpu():
    ours, theirs = both("amp_boilerplate")
    assert ours["device"] == theirs["device"] == "cpu"
    assert ours["scale"] == theirs["scale"] and ours["epoch"] == 3
    for key in ("losses", "norms", "probs"):
        assert_close(ours[key], theirs[key], **F32, msg=key)
    assert ours["accuracy"] == theirs["accuracy"]


def test_pinn_second_derivatives_through_autograd_grad():
    ours, theirs = both("pinn_heat")  # float64 end to end: tight
    assert_close(ours["losses"], theirs["losses"], rtol=1e-9, atol=1e-12)
    assert_close(ours["residual"], theirs["residual"], rtol=1e-8, atol=1e-11)
    assert_close(ours["u"], theirs["u"], rtol=1e-9, atol=1e-12)
    assert ours["losses"][-1] < ours["losses"][0]
    ours, theirs = both("pinn_heat", dtype="float32", lbfgs_steps=0)
    assert_close(ours["losses"], theirs["losses"], **F32)


def test_sentiment_bilstm_with_pretrained_vectors_and_packing():
    ours, theirs = both("sentiment_bilstm")
    assert ours["n_params"] == theirs["n_params"]
    assert_close(np.array(ours["history"]), np.array(theirs["history"]), **F32)
    assert ours["best"] == pytest.approx(theirs["best"], rel=1e-5)
    assert ours["prediction"] == pytest.approx(theirs["prediction"], rel=1e-5)
    assert not ours["pad_row"].any()  # padding_idx's row is never trained


def test_recommender_with_dict_batches_and_two_backward_passes():
    ours, theirs = both("recsys_multitask")
    assert ours["batch_keys"] == theirs["batch_keys"] == ["clicked", "item", "rating", "user"]
    assert ours["batch_dtypes"] == theirs["batch_dtypes"]  # a Python float collates to float64
    assert_close(ours["log"], theirs["log"], **F32)
    assert_close(ours["scores"], theirs["scores"], **F32)
    assert np.array_equal(ours["top"], theirs["top"])
    assert np.array_equal(ours["hits"], theirs["hits"]) and ours["hits"].sum() == 12
    epochs = ours["log"].reshape(4, 3, 2).mean(axis=1)
    assert (epochs[-1] < epochs[0]).all()  # both losses fall, epoch over epoch


@pytest.mark.slow  # about 1.5 s
def test_cyclegan_lite_with_image_pool_and_chained_parameters():
    ours, theirs = both("cyclegan_lite")
    assert_close(ours["log"], theirs["log"], **F32)
    assert_close(ours["lrs"], theirs["lrs"], rtol=1e-12, atol=0)
    assert ours["lrs"][-1] < ours["lrs"][0]
    assert_close(ours["translated"], theirs["translated"], **F32)
    assert ours["pool"] == theirs["pool"] == 3


def test_kim_cnn_with_whole_length_max_pool_and_max_norm():
    ours, theirs = both("kim_cnn")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["norms"], theirs["norms"], **F32)
    assert max(ours["norms"]) <= 0.5 + 1e-6  # the constraint holds after every step
    assert_close(ours["logits"], theirs["logits"], **F32)
    assert ours["corrects"] == theirs["corrects"]


def test_maml_second_order_through_an_inner_step():
    second, second_torch = both("maml_sine")
    first, first_torch = both("maml_sine", first_order=True)
    for ours, theirs in ((second, second_torch), (first, first_torch)):
        assert_close(ours["meta_losses"], theirs["meta_losses"], **F32)
        assert_close(ours["inner_losses"], theirs["inner_losses"], **F32)
        for a, b in zip(ours["final"], theirs["final"], strict=True):
            assert_close(a, b, **F32)
    # the second-order terms change the meta-gradient, so the two runs part ways
    assert_differs(second["meta_losses"][1:], first["meta_losses"][1:], rtol=1e-4)


@pytest.mark.slow  # about 1.5 s
def test_pixelcnn_with_a_subclassed_masked_conv():
    ours, theirs = both("pixelcnn")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert ours["masked_zero"] and theirs["masked_zero"]
    assert np.array_equal(ours["mask_a"], theirs["mask_a"])
    assert ours["mask_a"][2].tolist() == [1, 1, 0, 0, 0]  # type A hides the centre pixel
    assert_close(ours["probs"], theirs["probs"], **F32)
    assert np.array_equal(ours["sample"], theirs["sample"])


def test_vit_with_mixup_and_no_decay_groups():
    ours, theirs = both("vit_mixup")
    assert ours["group_sizes"] == theirs["group_sizes"]
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["logits"], theirs["logits"], **F32)
    assert ours["accuracy"] == theirs["accuracy"]
    # axon's own trunc_normal_(std=0.02) init: inside +-2 (absolute), spread about 0.02
    pos = runner.load("vit_mixup", "axon").run()["initial"]["pos_embed"]
    assert np.abs(pos).max() <= 2.0 and 0.01 < pos.std() < 0.03


def test_reinforce_with_categorical_and_normal_distributions():
    ours, theirs = both("reinforce")  # actions drawn with NumPy from the policy's probs
    assert ours["actions"] == theirs["actions"] and ours["lengths"] == theirs["lengths"]
    assert_close(ours["log"], theirs["log"], **F32)
    assert_close(ours["normal"], theirs["normal"], rtol=1e-6, atol=1e-7)
    # with m.sample(), axon's own generator: seeded, so the same episodes again
    own = [
        runner.load("reinforce", "axon").run(sample_with_numpy=False)["actions"] for _ in range(2)
    ]
    assert own[0] == own[1] and set(own[0]) == {0, 1}


def test_trpo_natural_gradient_step_with_fisher_vector_products():
    ours, theirs = both("trpo_step")  # float64: tight
    assert_close(ours["stepdir"], theirs["stepdir"], rtol=1e-9, atol=1e-12)
    assert_close(ours["params"], theirs["params"], rtol=1e-9, atol=1e-12)
    for key in ("loss", "new_loss", "kl_after"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9, abs=1e-14), key
    assert ours["accepted"] and ours["fraction"] == theirs["fraction"]
    assert ours["new_loss"] < ours["loss"] and ours["kl_after"] < 2 * 1e-2


@pytest.mark.slow  # about 1.5 s
def test_ctc_speech_model_and_greedy_decoding():
    ours, theirs = both("ctc_speech")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["per_utt"], theirs["per_utt"], **F32)
    assert ours["decoded"] == theirs["decoded"]
    assert ours["losses"][-1] < ours["losses"][0] / 5
    assert ours["decoded"][1] == ours["labels"][1]  # a repeated label survives its blank


def test_masked_language_model_with_finfo_masks_and_utils_data():
    ours, theirs = both("masked_attention")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["logits"], theirs["logits"], **F32)
    for key in ("rows", "cols", "predicted"):
        assert np.array_equal(ours[key], theirs[key]), key
    assert ours["padding_ignored"] and theirs["padding_ignored"]
    assert ours["min"] == theirs["min"]


def test_spatial_transformer_tutorial():
    # identity-initialised: every sampling point starts on a pixel centre (see
    # test_gap_fixes: the gradient there depends on rounding exactly as torch does)
    ours, theirs = both("spatial_transformer")
    assert_close(ours["losses"], theirs["losses"], **F32)
    assert_close(ours["theta"], theirs["theta"], **F32)
    for key in ("warped", "warped_ac"):
        assert_close(ours[key], theirs[key], rtol=1e-4, atol=2e-5, msg=key)
    assert ours["correct"] == theirs["correct"]
