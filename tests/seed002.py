"""Seed 002's own code, ported to Python 3 and stripped of plotting: the oracle for rng='notebook'.

Kept as written (per-neuron Python objects, np.random global state, np.split batching) so that
the test compares dyn against the notebook itself, not against a re-derivation.
"""

import numpy as np

d = 2


def relu(x):
    if x >= 0:
        return x
    return 0.0


def drelu(x):
    if x >= 0:
        return 1.0
    return 0.0


class Neuron:
    def __init__(self):
        a = np.random.normal()
        w = np.random.normal(size=d)
        b = np.random.normal()
        norm = np.linalg.norm(np.concatenate([np.array([b]), w]), 2)
        self.a = a
        self.w = w / norm
        self.b = b / norm

    def set_weights(self, a, w, b):
        self.a = a
        self.w = w.copy()
        self.b = b

    def forward(self, x):
        return self.a * relu(self.w.dot(x) + self.b)


class Network:
    def __init__(self, width):
        self.width = width
        self.neurons = [Neuron() for i in range(width)]

    def small_sphere(self, R):
        for nr in self.neurons:
            norm = 1.0 / R * np.linalg.norm(np.concatenate([np.array([nr.b]), nr.w]), 2)
            nr.set_weights(nr.a, nr.w / norm, nr.b / norm)

    def output(self, x):
        return np.mean([n.forward(x) for n in self.neurons])

    def grad(self, x, y):
        d_ = self.output(x) - y
        s = np.array([relu(n.w.dot(x) + n.b) for n in self.neurons])
        ds = np.array([drelu(n.w.dot(x) + n.b) for n in self.neurons])
        ga = 1.0 / self.width * d_ * s
        gb = 1.0 / self.width * d_ * np.array([self.neurons[i].a * ds[i] for i in range(self.width)])
        gw = np.array([gb[i] * x for i in range(self.width)])
        return ga, gw, gb

    def batch_step(self, X, Y, tau):
        ba = X.shape[0]
        Ga, Gw, Gb = np.zeros((ba, self.width)), np.zeros((ba, self.width, d)), np.zeros((ba, self.width))
        for i in range(ba):
            Ga[i], Gw[i], Gb[i] = self.grad(X[i], Y[i])
        ga, gw, gb = Ga.mean(axis=0), Gw.mean(axis=0), Gb.mean(axis=0)
        for i in range(self.width):
            nr = self.neurons[i]
            nr.set_weights(nr.a - tau * ga[i], nr.w - tau * gw[i], nr.b - tau * gb[i])

    def sgd_train(self, X, Y, tau, epochs, batch):
        for e in range(epochs):
            pm = np.random.permutation(X.shape[0])
            X = np.array([X[pm[i]] for i in range(X.shape[0])])
            Y = np.array([Y[pm[i]] for i in range(Y.shape[0])])
            nbatch = X.shape[0] // batch
            subX = np.split(X, nbatch)
            subY = np.split(Y, nbatch)
            for s in range(len(subX)):
                self.batch_step(subX[s], subY[s], tau)

    def gen_sample(self, s):
        X = np.random.normal(size=(s, d))
        Y = np.zeros(s)
        for i in range(s):
            Y[i] = self.output(X[i])
        return X, Y

    def give_weights(self):
        return (np.array([n.a for n in self.neurons]), np.array([n.w for n in self.neurons]),
                np.array([n.b for n in self.neurons]))


def notebook(frames, seed=18, width=20, radius=0.05, M=4, batch=20, tau=0.5):
    """The notebook's run: teacher, student, then update_plot(0), update_plot(0), 1, 2, ... as
    FuncAnimation called it. Returns the teacher and the student's weights after each frame."""
    np.random.seed(seed)
    gen_net = Network(M)
    net = Network(width)
    net.small_sphere(radius)
    history = [net.give_weights()]
    for call, i in enumerate([0] + list(range(frames))):
        X, Y = gen_net.gen_sample(100 * int(np.log(10.0 + 10.0 * i)))
        net.sgd_train(X, Y, tau=tau, batch=batch, epochs=1)
        if call > 0:
            history.append(net.give_weights())
    return gen_net.give_weights(), history
