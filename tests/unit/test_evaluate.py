import pytest
import torch

from gdbench.evaluate import confusion_matrix, evaluate_classifier, mean_iou, topk_correct


def test_miou_against_a_hand_computed_confusion_matrix():
    #            pixel:   0  1  2  3  4  5  6  7
    targets = torch.tensor([0, 0, 1, 1, 1, 2, 255, 2])
    predictions = torch.tensor([0, 1, 1, 1, 0, 2, 0, 1])
    confusion = confusion_matrix(predictions, targets, num_classes=3)
    assert confusion.tolist() == [
        [1, 1, 0],  # class 0: one right, one taken for 1
        [1, 2, 0],  # class 1: two right, one taken for 0
        [0, 1, 1],
    ]  # class 2: one right, one taken for 1; 255 ignored
    # IoU: class 0 = 1 / (2 + 2 - 1) = 1/3; class 1 = 2 / (3 + 4 - 2) = 2/5; class 2 = 1 / 2
    assert mean_iou(confusion) == pytest.approx((1 / 3 + 2 / 5 + 1 / 2) / 3)


def test_miou_accumulates_one_matrix_not_a_mean_of_batches():
    a = confusion_matrix(torch.tensor([0, 0]), torch.tensor([0, 1]), 2)
    b = confusion_matrix(torch.tensor([1] * 6), torch.tensor([1] * 6), 2)
    assert mean_iou(a + b) == pytest.approx((1 / 2 + 6 / 7) / 2)
    assert mean_iou(a + b) != pytest.approx((mean_iou(a) + mean_iou(b)) / 2)


def test_labels_out_of_range_are_refused():
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(torch.tensor([0]), torch.tensor([7]), num_classes=3)


def test_topk():
    logits = torch.tensor([[0.1, 0.5, 0.4, 0.0, 0.0, 0.0], [0.9, 0.0, 0.0, 0.0, 0.0, 0.1]])
    assert topk_correct(logits, torch.tensor([2, 5]), ks=(1, 2)) == {1: 0, 2: 2}


def test_evaluate_classifier_restores_training_mode():
    model = torch.nn.Linear(4, 6).train()
    batches = [(torch.randn(8, 4), torch.randint(0, 6, (8,))), (torch.randn(3, 4), torch.randint(0, 6, (3,)))]
    result = evaluate_classifier(model, batches)
    assert 0 <= result["top1"] <= result["top5"] <= 1 and model.training
    assert result["samples"] == 11  # the test-set size the report's provenance states
