"""``torch.nn.modules.rnn``'s names in axon: Recurrent layers, for code that imports
them from there (``from torch.nn.modules.rnn import ...``)."""

from ..rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
