"""A speech-recognition-shaped model trained with CTC: log-mel-like features through a
Conv1d front end and a bidirectional GRU, log_softmax over (T, N, C) as nn.CTCLoss wants,
per-utterance input_lengths and concatenated targets with target_lengths,
zero_infinity=True, gradient clipping, and greedy decoding with argmax and
torch.unique_consecutive with the blank removed."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BLANK = 0


class SpeechModel(nn.Module):
    def __init__(self, n_feats=6, hidden=8, n_class=5):
        super().__init__()
        self.cnn = nn.Conv1d(n_feats, hidden, kernel_size=3, padding=1)
        self.rnn = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(2 * hidden, n_class)

    def forward(self, x):  # x: (N, n_feats, T)
        x = F.gelu(self.cnn(x)).transpose(1, 2)  # (N, T, hidden)
        x, _ = self.rnn(x)
        return self.classifier(x)  # (N, T, n_class)


def greedy_decode(log_probs, lengths):
    best = log_probs.argmax(dim=2)  # (N, T)
    out = []
    for seq, n in zip(best, lengths, strict=True):
        collapsed = torch.unique_consecutive(seq[: int(n)])
        out.append([int(c) for c in collapsed if int(c) != BLANK])
    return out


def run(initial=None):
    torch.manual_seed(7)
    rng = np.random.default_rng(7)
    N, T, n_feats = 4, 12, 6
    labels = [rng.integers(1, 5, size=rng.integers(2, 4)).tolist() for _ in range(N)]
    feats = rng.normal(size=(N, n_feats, T)).astype(np.float32)
    for i, lab in enumerate(labels):  # each label lights up its own feature row in turn
        for j, c in enumerate(lab):
            feats[i, c, 3 * j : 3 * j + 3] += 2.0
    x = torch.from_numpy(feats)
    input_lengths = torch.tensor([T, T - 2, T, T - 3], dtype=torch.long)
    targets = torch.tensor([c for lab in labels for c in lab], dtype=torch.long)
    target_lengths = torch.tensor([len(lab) for lab in labels], dtype=torch.long)
    model = SpeechModel()
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    criterion = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-2)
    losses = []
    for _step in range(40):
        model.train()
        output = F.log_softmax(model(x), dim=2).transpose(0, 1)  # (T, N, C)
        loss = criterion(output, targets, input_lengths, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        log_probs = F.log_softmax(model(x), dim=2)
        per_utt = F.ctc_loss(
            log_probs.transpose(0, 1),
            targets,
            input_lengths,
            target_lengths,
            blank=BLANK,
            reduction="none",
        )
    return {
        "initial": start,
        "losses": losses,
        "per_utt": per_utt.numpy(),
        "decoded": greedy_decode(log_probs, input_lengths),
        "labels": labels,
    }
