"""Seed 003's loops, ported to Python 3 (``xrange`` -> ``range``, ``print`` dropped, ``tqdm`` dropped): the
oracle for ``as_seed``. Kept as written, classes, shapes and update expressions included; the only other
change is that the sample index of step t is ``order[t]`` instead of ``np.random.randint(N_samples)``, so
that a run can be replayed in dyn with the same order. ``optimize_data`` is the seed's unfinished exercise
completed with its own ``gradient_x``: ``data[idx,:] - eta * loss.gradient(...) * model.gradient_x(xi)``.
"""

import numpy as np


# --- the linear model, its two losses, SGD on the weights, SGD on the data ---------------------------
class model:
    def __init__(self, d):
        self.w = np.zeros((1, d + 1))

    def forward(self, x):
        return np.dot(self.w[0, :-1], x.T) + self.w[0, -1]

    def gradient(self, x):
        return np.concatenate((x, np.array([1])))

    def gradient_x(self, x):
        return self.w[0, :-1]


class loss:
    def __init__(self):
        self.y = 0

    def evaluate(self, model, x, t):
        self.y = model.forward(x)
        return (t - self.y) * (t - self.y)

    def gradient(self, model, x, t):
        self.y = model.forward(x)
        return -2. * (t - self.y)


class loss_hinge:
    def __init__(self):
        self.y = 0

    def evaluate(self, model, x, t):
        self.y = model.forward(x)
        return np.maximum(0, 1 - t * self.y)

    def gradient(self, model, x, t):
        self.y = model.forward(x)
        if (1 - t * self.y) > 0:
            return -t
        else:
            return 0


class optimize:
    def run(self, data, target, model, loss, num_iter, eta, order):
        self.l = np.zeros((int(np.ceil(num_iter / 1000)), 1))
        i = 0
        for t in range(num_iter):
            idx = order[t]
            xi = data[idx, :]
            yi = target[idx]
            if t % 1000 == 0:
                self.l[i] = np.sum(loss.evaluate(model, data[:1000, :], target[:1000, 0]))
                i = i + 1
            model.w = model.w - eta * loss.gradient(model, xi, yi) * model.gradient(xi)


class optimize_data:
    def run(self, data, target, model, loss, num_iter, eta, order):
        for t in range(num_iter):
            idx = order[t]
            xi = data[idx, :]
            yi = target[idx, :]
            data[idx, :] = data[idx, :] - eta * loss.gradient(model, xi, yi) * model.gradient_x(xi)
        return data


# --- the second MLP: ReLU layers with biases, a linear output, backprop as written ------------------
class reluLayer:
    def __init__(self, w):
        self.w = w.copy()  # the seed: np.random.randn(input_dim + 1, n_neurons)

    def forward(self, x):
        self.xext = np.concatenate((x, np.ones((x.shape[0], 1))), axis=1)
        self.z = np.dot(self.xext, self.w)
        self.y = np.maximum(0, self.z)
        return self.y

    def backward(self):
        dydz = np.tile(np.where(self.z > 0., 1., 0.), (self.w.shape[0], 1))
        tw = dydz * self.w
        return tw[:-1, :]

    def gradient(self):
        dydz = np.where(self.z > 0., 1., 0.)
        return np.dot(dydz.T, self.xext)


class linearLayer:
    def __init__(self, w):
        self.w = w.copy()

    def forward(self, x):
        self.xext = np.concatenate((x, np.ones((x.shape[0], 1))), axis=1)
        self.y = np.dot(self.xext, self.w)
        return self.y

    def backward(self):
        return self.w[:-1, :]

    def gradient(self):
        return self.xext


class net:
    def __init__(self, weights):
        self.architecture = [reluLayer(w) for w in weights[:-1]] + [linearLayer(weights[-1])]

    def forward(self, x):
        self.y_ = x
        for layer in self.architecture:
            self.y_ = layer.forward(self.y_)
        return self.y_


class optimize_mlp:
    def __init__(self, plot_convergence=100.):
        self.pc = plot_convergence

    def run(self, data, target, model, loss, num_iter, eta, order):
        self.l = np.zeros((int(np.ceil((num_iter * 1.0) / self.pc)), 1))
        i = 0
        for t in range(num_iter):
            idx = order[t]
            xi = data[idx, :]
            xi = xi[np.newaxis, :]
            yi = target[idx, :]
            if (t * 1.) % self.pc == 0:
                self.l[i] = np.sum(loss.evaluate(model, data, target))
                i = i + 1
            dLdx = loss.gradient(model, xi, yi)
            for layer in reversed(model.architecture):
                tmp = layer.w - eta * np.dot(dLdx, layer.gradient()).T
                dLdx = np.dot(dLdx, layer.backward().T)
                layer.w = tmp


def seed_data(n_per_class=1000, seed=0):
    """The seed's two blobs, drawn from a legacy RandomState as the seed draws them (x (2n, 2), y (2n, 1))."""
    rs = np.random.RandomState(seed)
    x = np.vstack((rs.randn(n_per_class, 2), rs.randn(n_per_class, 2) + np.array([3, 3])))
    y = np.vstack((-1. * np.ones((n_per_class, 1)), 1. * np.ones((n_per_class, 1))))
    return x, y
