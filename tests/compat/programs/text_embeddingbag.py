"""A text classifier in the shape of the torchtext tutorial: token ids of a batch flattened
into one tensor, offsets from torch.cumsum of the lengths, nn.EmbeddingBag (mean) into a
Linear, SGD with StepLR, clip_grad_norm_, and a DataLoader with a collate_fn."""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

CORPUS = [
    (0, "stocks fell as markets slid on rate fears"),
    (1, "the team won the final match in extra time"),
    (2, "new chip doubles battery life of phones"),
    (0, "bank shares rose after strong earnings"),
    (1, "the striker scored twice in the derby"),
    (2, "software update brings faster phones and chips"),
    (0, "markets rallied as rate fears eased"),
    (1, "coach praised the team after the match"),
    (2, "battery maker unveils a new chip plant"),
    (0, "earnings beat forecasts and shares jumped"),
    (1, "fans cheered as the team won the cup"),
    (2, "phones with the new chip ship next month"),
]


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


def build_vocab(corpus):
    vocab = {"<unk>": 0}
    for _, line in corpus:
        for token in line.split():
            vocab.setdefault(token, len(vocab))
    return vocab


def run(initial=None):
    torch.manual_seed(7)
    vocab = build_vocab(CORPUS)
    text_pipeline = lambda x: [vocab.get(token, 0) for token in x.split()]  # noqa: E731

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(_label)
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list, text_list, offsets

    train_dataloader = DataLoader(CORPUS[:9], batch_size=3, shuffle=False, collate_fn=collate_batch)
    valid_dataloader = DataLoader(CORPUS[9:], batch_size=3, collate_fn=collate_batch)
    model = TextClassificationModel(len(vocab), 8, 3)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)

    def evaluate(dataloader):
        model.eval()
        total_acc, total_count = 0, 0
        with torch.no_grad():
            for label, text, offsets in dataloader:
                predicted_label = model(text, offsets)
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count

    losses, accs, lrs = [], [], []
    total_accu = None
    for _epoch in range(1, 4):
        model.train()
        for label, text, offsets in train_dataloader:
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            losses.append(loss.item())
        accu_val = evaluate(valid_dataloader)
        if total_accu is not None and total_accu >= accu_val:
            scheduler.step()
        else:
            total_accu = accu_val
        accs.append(accu_val)
        lrs.append(scheduler.get_last_lr()[0])

    # a flat list of ids and offsets, the way a user builds one by hand
    ids = [[vocab["markets"], vocab["rate"]], [vocab["team"]], [vocab["chip"], 0, vocab["new"]]]
    flat = torch.tensor([i for seq in ids for i in seq])
    offsets = torch.cumsum(torch.tensor([0] + [len(s) for s in ids[:-1]]), dim=0)
    with torch.no_grad():
        probs = torch.softmax(model(flat, offsets), dim=1)
    sum_bag = nn.EmbeddingBag.from_pretrained(model.embedding.weight.detach(), mode="sum")
    weights = torch.from_numpy(np.array([1.0, 2.0, 0.5, 1.0, -1.0, 3.0], dtype=np.float32))
    weighted = sum_bag(flat, offsets, per_sample_weights=weights)
    return {
        "initial": start,
        "losses": losses,
        "accs": accs,
        "lrs": lrs,
        "offsets": offsets.numpy(),
        "probs": probs.numpy(),
        "weighted": weighted.detach().numpy(),
    }
