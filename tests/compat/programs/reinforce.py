"""REINFORCE in the shape of pytorch/examples' reinforcement-learning script, on a small
corridor world in plain Python: a policy network with dropout off, torch.distributions
Categorical over its softmax, saved log_probs, discounted returns normalised with
(returns - mean) / (std + eps) where eps is np.finfo(np.float32).eps.item(), the policy
loss from torch.cat of -log_prob * R, and an actor-critic variant with a Normal head for
a continuous action (its log_prob and entropy)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

eps = np.finfo(np.float32).eps.item()


class Corridor:
    """Positions 0..5, start at 2; reward +1 at 5 (done), -1 at 0 (done), -0.05 a step."""

    def reset(self):
        self.pos = 2
        return self.obs()

    def obs(self):
        return np.eye(6, dtype=np.float32)[self.pos]

    def step(self, action):
        self.pos += 1 if action == 1 else -1
        if self.pos == 5:
            return self.obs(), 1.0, True
        if self.pos == 0:
            return self.obs(), -1.0, True
        return self.obs(), -0.05, False


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.affine1 = nn.Linear(6, 16)
        self.dropout = nn.Dropout(p=0.0)
        self.affine2 = nn.Linear(16, 2)
        self.saved_log_probs, self.rewards = [], []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


def run(initial=None, episodes=6, gamma=0.9, sample_with_numpy=True):
    torch.manual_seed(543)
    rng = np.random.default_rng(543)
    env = Corridor()
    policy = Policy()
    if initial is not None:
        policy.load_state_dict({k: torch.tensor(v) for k, v in initial.items()})
    start = {k: v.detach().numpy().copy() for k, v in policy.state_dict().items()}
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)

    def select_action(state):
        state = torch.from_numpy(state).float().unsqueeze(0)
        probs = policy(state)
        m = torch.distributions.Categorical(probs)
        if sample_with_numpy:  # the same draw under both libraries
            p = probs.detach().numpy()[0].astype(np.float64)
            action = torch.tensor([rng.choice(2, p=p / p.sum())])
        else:
            action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode():
        R = 0
        policy_loss, returns = [], []
        for r in policy.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (
            (returns - returns.mean()) / (returns.std() + eps) if len(returns) > 1 else returns * 0
        )
        for log_prob, R in zip(policy.saved_log_probs, returns, strict=True):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        del policy.rewards[:]
        del policy.saved_log_probs[:]
        return policy_loss.item()

    log, lengths, actions = [], [], []
    for _i_episode in range(episodes):
        state, ep_reward = env.reset(), 0
        for t in range(1, 30):
            steps = t
            action = select_action(state)
            actions.append(action)
            state, reward, done = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if done:
                break
        lengths.append(steps)
        log.append((finish_episode(), ep_reward))

    # a Gaussian head for a continuous action: log_prob, entropy, rsample's gradient path
    mu = torch.tensor([0.3, -0.2], requires_grad=True)
    log_std = torch.tensor([-0.5, 0.1], requires_grad=True)
    dist = torch.distributions.Normal(mu, log_std.exp())
    action = torch.tensor([0.5, 0.0])
    objective = dist.log_prob(action).sum() + 0.01 * dist.entropy().sum()
    objective.backward()
    return {
        "initial": start,
        "log": np.array(log),
        "lengths": lengths,
        "actions": actions,
        "normal": [objective.item(), *mu.grad.tolist(), *log_std.grad.tolist()],
    }
