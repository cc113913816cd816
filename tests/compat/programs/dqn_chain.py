"""Deep Q-learning in the shape of PyTorch's DQN tutorial, on a tiny chain world written in
plain Python: a replay memory of namedtuple Transitions sampled with random.sample,
epsilon-greedy actions, policy_net(state).max(1).indices.view(1, 1), gather of the taken
actions, a non-final mask, SmoothL1Loss, clip_grad_value_, AdamW(amsgrad=True), and the
soft update of the target network through its state_dict."""

import math
import random
from collections import deque, namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))


class ChainEnv:
    """Positions 0..n-1; action 1 moves right, 0 moves left; reward 1 at the right end."""

    def __init__(self, n=5):
        self.n = n

    def reset(self):
        self.pos = 0
        return self.observe()

    def observe(self):
        return [1.0 if i == self.pos else 0.0 for i in range(self.n)]

    def step(self, action):
        self.pos = max(0, min(self.n - 1, self.pos + (1 if action == 1 else -1)))
        terminated = self.pos == self.n - 1
        return self.observe(), (1.0 if terminated else -0.01), terminated


class ReplayMemory:
    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, n_observations, n_actions):
        super().__init__()
        self.layer1 = nn.Linear(n_observations, 16)
        self.layer2 = nn.Linear(16, 16)
        self.layer3 = nn.Linear(16, n_actions)

    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


BATCH_SIZE, GAMMA, EPS_START, EPS_END, EPS_DECAY, TAU, LR = 8, 0.9, 0.9, 0.05, 30, 0.05, 1e-3


def run(initial=None, num_episodes=6):
    torch.manual_seed(0)
    random.seed(0)  # Python's generator: the same actions and samples under both libraries
    env = ChainEnv()
    n_actions, n_observations = 2, env.n
    policy_net = DQN(n_observations, n_actions)
    target_net = DQN(n_observations, n_actions)
    if initial is not None:
        policy_net.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    target_net.load_state_dict(policy_net.state_dict())
    start = {k: v.detach().numpy().copy() for k, v in policy_net.state_dict().items()}
    optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(100)
    steps_done = 0

    def select_action(state):
        nonlocal steps_done
        sample = random.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1.0 * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                return policy_net(state).max(1).indices.view(1, 1)
        return torch.tensor([[random.randrange(n_actions)]], dtype=torch.long)

    def optimize_model():
        if len(memory) < BATCH_SIZE:
            return None
        transitions = memory.sample(BATCH_SIZE)
        batch = Transition(*zip(*transitions, strict=True))
        non_final_mask = torch.tensor(
            tuple(map(lambda s: s is not None, batch.next_state)), dtype=torch.bool
        )
        non_final = [s for s in batch.next_state if s is not None]
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)
        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(BATCH_SIZE)
        if non_final:
            with torch.no_grad():
                next_state_values[non_final_mask] = target_net(torch.cat(non_final)).max(1).values
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        criterion = nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        return loss.item()

    losses, durations, actions = [], [], []
    for _i_episode in range(num_episodes):
        state = torch.tensor(env.reset(), dtype=torch.float32).unsqueeze(0)
        for t in range(20):
            duration = t + 1
            action = select_action(state)
            actions.append(action.item())
            observation, reward, terminated = env.step(action.item())
            reward = torch.tensor([reward])
            next_state = (
                None if terminated else torch.tensor(observation, dtype=torch.float32).unsqueeze(0)
            )
            memory.push(state, action, next_state, reward)
            state = next_state
            loss = optimize_model()
            if loss is not None:
                losses.append(loss)
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = policy_net_state_dict[
                    key
                ] * TAU + target_net_state_dict[key] * (1 - TAU)
            target_net.load_state_dict(target_net_state_dict)
            if terminated:
                break
        durations.append(duration)
    with torch.no_grad():
        q_values = policy_net(torch.eye(env.n))
    return {
        "initial": start,
        "losses": losses,
        "durations": durations,
        "actions": actions,
        "q_values": q_values.numpy(),
        "target_weight": target_net.layer3.weight.detach().numpy().copy(),
    }
