"""A GRU encoder-decoder with Bahdanau (additive) attention written by hand, trained to
reverse short digit sequences with NLLLoss and seeded teacher forcing: the shape of the
classic translation tutorial (bmm, softmax, cat, topk, a decoding loop)."""

import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

SOS_token, EOS_token = 0, 1


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)

    def forward(self, input):
        embedded = self.embedding(input)
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(
        self, encoder_outputs, encoder_hidden, max_length, target_tensor=None, teacher_forcing=None
    ):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs, attentions = [], []
        for i in range(max_length):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs
            )
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)
            if target_tensor is not None and teacher_forcing[i]:
                decoder_input = target_tensor[:, i].unsqueeze(1)  # teacher forcing
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()  # its own prediction
        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)
        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.embedding(input)
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        return self.out(output), hidden, attn_weights


def make_pairs(rng, n, length, vocab):
    src = rng.integers(2, vocab, size=(n, length))
    tgt = np.concatenate([src[:, ::-1], np.full((n, 1), EOS_token)], axis=1)
    return torch.tensor(src, dtype=torch.long), torch.tensor(tgt.copy(), dtype=torch.long)


def run(initial=None, teacher_forcing_ratio=0.5):
    torch.manual_seed(0)
    random.seed(0)  # Python's generator is the same under both libraries
    rng = np.random.default_rng(4)
    vocab, hidden_size, length = 8, 16, 4
    encoder, decoder = EncoderRNN(vocab, hidden_size), AttnDecoderRNN(hidden_size, vocab)
    if initial is not None:
        encoder.load_state_dict({k: torch.tensor(v) for k, v in initial["encoder"].items()})
        decoder.load_state_dict({k: torch.tensor(v) for k, v in initial["decoder"].items()})
    start = {
        name: {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        for name, net in (("encoder", encoder), ("decoder", decoder))
    }
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=0.01)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=0.01)
    criterion = nn.NLLLoss()
    src, tgt = make_pairs(rng, 24, length, vocab)

    losses, forced = [], []
    for _epoch in range(3):
        for b in range(0, 24, 8):
            input_tensor, target_tensor = src[b : b + 8], tgt[b : b + 8]
            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()
            steps = [random.random() < teacher_forcing_ratio for _ in range(length + 1)]
            forced.append(steps)
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, _, _ = decoder(
                encoder_outputs, encoder_hidden, length + 1, target_tensor, steps
            )
            loss = criterion(
                decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1)
            )
            loss.backward()
            encoder_optimizer.step()
            decoder_optimizer.step()
            losses.append(loss.item())

    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        encoder_outputs, encoder_hidden = encoder(src[:3])
        decoder_outputs, _, attentions = decoder(encoder_outputs, encoder_hidden, length + 1)
        _, topi = decoder_outputs.topk(1)
        decoded_ids = topi.squeeze()
    return {
        "initial": start,
        "losses": losses,
        "forced": forced,
        "decoded": decoded_ids.numpy(),
        "attentions": attentions.numpy(),
    }
