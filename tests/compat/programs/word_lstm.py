"""A word-level LSTM language model in the shape of the classic word_language_model
example: Embedding, a batch_first LSTM whose hidden state is carried across batches and
detached (repackage_hidden), clip_grad_norm_, ReduceLROnPlateau on the validation loss;
then a variable-length batch through pack_padded_sequence / pad_packed_sequence."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT = (
    "the cat sat on the mat . the dog sat on the log . a cat saw a dog . "
    "the dog saw the cat on the mat . a log is on the mat ."
).split()


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.0):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout, batch_first=True)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nlayers, self.nhid = nlayers, nhid
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        return F.log_softmax(decoded, dim=-1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (
            weight.new_zeros(self.nlayers, bsz, self.nhid),
            weight.new_zeros(self.nlayers, bsz, self.nhid),
        )


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).contiguous()  # batch_first: (bsz, time)


def get_batch(source, i, bptt):
    seq_len = min(bptt, source.size(1) - 1 - i)
    return source[:, i : i + seq_len], source[:, i + 1 : i + 1 + seq_len].reshape(-1)


def run(initial=None):
    torch.manual_seed(1111)
    vocab = sorted(set(TEXT))
    word2idx = {w: i for i, w in enumerate(vocab)}
    ids = torch.tensor([word2idx[w] for w in TEXT], dtype=torch.int64)
    train_data, val_data = batchify(ids[:32], 2), batchify(ids[32:], 2)
    ntokens, bptt, clip = len(vocab), 5, 0.25
    model = RNNModel(ntokens, 12, 16, 2)
    if initial is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    criterion = nn.NLLLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.5, patience=0, threshold=0.05
    )

    def evaluate(data_source):
        model.eval()
        total_loss = 0.0
        hidden = model.init_hidden(data_source.size(0))
        with torch.no_grad():
            for i in range(0, data_source.size(1) - 1, bptt):
                data, targets = get_batch(data_source, i, bptt)
                output, hidden = model(data, hidden)
                total_loss += data.size(1) * criterion(output.view(-1, ntokens), targets).item()
        return total_loss / (data_source.size(1) - 1)

    losses, norms, val_losses, lrs = [], [], [], []
    for _epoch in range(3):
        model.train()
        hidden = model.init_hidden(train_data.size(0))
        for i in range(0, train_data.size(1) - 1, bptt):
            data, targets = get_batch(train_data, i, bptt)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(data, hidden)
            loss = criterion(output.view(-1, ntokens), targets)
            loss.backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip)))
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-optimizer.param_groups[0]["lr"])
            losses.append(loss.item())
        val_loss = evaluate(val_data)
        scheduler.step(val_loss)
        val_losses.append(val_loss)
        lrs.append(optimizer.param_groups[0]["lr"])
    ppl = math.exp(val_losses[-1])

    # a padded batch of sentences of different lengths, packed for the LSTM
    sentences = [
        [word2idx[w] for w in s.split()] for s in ("a dog saw", "the cat sat on the mat", "the log")
    ]
    lengths = torch.tensor([len(s) for s in sentences])
    padded = nn.utils.rnn.pad_sequence([torch.tensor(s) for s in sentences], batch_first=True)
    packed = nn.utils.rnn.pack_padded_sequence(
        model.encoder(padded), lengths, batch_first=True, enforce_sorted=False
    )
    packed_out, (h_n, c_n) = model.rnn(packed)
    unpacked, out_lengths = nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True)
    summed = unpacked.sum()
    model.zero_grad()
    summed.backward()
    return {
        "initial": start,
        "losses": losses,
        "norms": norms,
        "val_losses": val_losses,
        "lrs": lrs,
        "ppl": ppl,
        "unpacked": unpacked.detach().numpy(),
        "out_lengths": out_lengths.numpy(),
        "h_n": h_n.detach().numpy(),
        "batch_sizes": packed.batch_sizes.numpy(),
        "sorted_indices": packed.sorted_indices.numpy(),
        "grad_embedding": model.encoder.weight.grad.numpy().copy(),
    }
