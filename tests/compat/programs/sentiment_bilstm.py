"""A sentiment classifier in the shape of the well-known "upgraded sentiment analysis"
tutorial: pretrained vectors copied into nn.Embedding(padding_idx=...) with
weight.data.copy_ and the pad/unk rows zeroed, a 2-layer bidirectional LSTM over packed
sequences (lengths on the CPU, enforce_sorted=False), the final forward and backward
hidden states joined by torch.cat((hidden[-2], hidden[-1]), dim=1), BCEWithLogitsLoss and
binary accuracy by torch.round(torch.sigmoid(preds)), best-validation checkpointing."""

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

POSITIVE = "good great fine love wonderful best nice happy".split()
NEGATIVE = "bad awful poor hate terrible worst boring sad".split()
NEUTRAL = "the a movie film plot actor it was is and very".split()


class RNN(nn.Module):
    def __init__(
        self,
        vocab_size,
        embedding_dim,
        hidden_dim,
        output_dim,
        n_layers,
        bidirectional,
        dropout,
        pad_idx,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.rnn = nn.LSTM(
            embedding_dim,
            hidden_dim,
            num_layers=n_layers,
            bidirectional=bidirectional,
            dropout=dropout,
        )
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text, text_lengths):
        embedded = self.dropout(self.embedding(text))
        packed_embedded = nn.utils.rnn.pack_padded_sequence(
            embedded, text_lengths.to("cpu"), enforce_sorted=False
        )
        packed_output, (hidden, cell) = self.rnn(packed_embedded)
        output, output_lengths = nn.utils.rnn.pad_packed_sequence(packed_output)
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(hidden)


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    return correct.sum() / len(correct)


def make_reviews(rng, n, stoi):
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        words = list(rng.choice(NEUTRAL, size=rng.integers(2, 6)))
        words += list(rng.choice(POSITIVE if label else NEGATIVE, size=rng.integers(1, 3)))
        rng.shuffle(words)
        texts.append([stoi.get(w, 0) for w in words])
        labels.append(label)
    return texts, labels


def batches(texts, labels, size, pad_idx):
    for i in range(0, len(texts), size):
        chunk = texts[i : i + size]
        lengths = torch.tensor([len(t) for t in chunk])
        text = torch.full((int(lengths.max()), len(chunk)), pad_idx, dtype=torch.long)
        for j, t in enumerate(chunk):
            text[: len(t), j] = torch.tensor(t)
        yield text, lengths, torch.tensor(labels[i : i + size], dtype=torch.float)


def run(initial=None):
    torch.manual_seed(1234)
    rng = np.random.default_rng(1234)
    itos = ["<unk>", "<pad>"] + sorted(set(POSITIVE + NEGATIVE + NEUTRAL) - {"worst"})
    stoi = {w: i for i, w in enumerate(itos)}
    UNK_IDX, PAD_IDX = stoi["<unk>"], stoi["<pad>"]
    EMBEDDING_DIM = 6
    pretrained = torch.tensor(rng.normal(size=(len(itos), EMBEDDING_DIM)), dtype=torch.float)
    model = RNN(len(itos), EMBEDDING_DIM, 8, 1, 2, True, 0.0, PAD_IDX)
    model.embedding.weight.data.copy_(pretrained)
    model.embedding.weight.data[UNK_IDX] = torch.zeros(EMBEDDING_DIM)
    model.embedding.weight.data[PAD_IDX] = torch.zeros(EMBEDDING_DIM)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    train_texts, train_labels = make_reviews(rng, 32, stoi)
    valid_texts, valid_labels = make_reviews(rng, 16, stoi)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.BCEWithLogitsLoss()

    def evaluate():
        epoch_loss, epoch_acc, n = 0.0, 0.0, 0
        model.eval()
        with torch.no_grad():
            for text, lengths, label in batches(valid_texts, valid_labels, 8, PAD_IDX):
                predictions = model(text, lengths).squeeze(1)
                epoch_loss += criterion(predictions, label).item()
                epoch_acc += binary_accuracy(predictions, label).item()
                n += 1
        return epoch_loss / n, epoch_acc / n

    best_valid_loss, best_state, history = float("inf"), None, []
    for _epoch in range(4):
        model.train()
        for text, lengths, label in batches(train_texts, train_labels, 8, PAD_IDX):
            optimizer.zero_grad()
            predictions = model(text, lengths).squeeze(1)
            loss = criterion(predictions, label)
            acc = binary_accuracy(predictions, label)
            loss.backward()
            optimizer.step()
            history.append((loss.item(), acc.item()))
        valid_loss, valid_acc = evaluate()
        history.append((valid_loss, valid_acc))
        if valid_loss < best_valid_loss:
            best_valid_loss, best_state = valid_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    sentence = [stoi.get(w, UNK_IDX) for w in "the film was wonderful and very happy".split()]
    tensor = torch.tensor(sentence, dtype=torch.long).unsqueeze(1)
    model.eval()
    prediction = torch.sigmoid(model(tensor, torch.tensor([len(sentence)])))
    return {
        "initial": start,
        "history": history,
        "best": best_valid_loss,
        "prediction": prediction.item(),
        "n_params": n_params,
        "pad_row": model.embedding.weight[PAD_IDX].detach().numpy(),
    }
