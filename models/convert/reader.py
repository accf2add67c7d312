"""A component's published weights as a read-only mapping, one tensor read at a time.

The exporters take either ``name in weights`` / ``weights[name]`` (the text
encoder) or a function from a name to its tensor (the transformer); both read a
tensor from its shard only when asked, so a checkpoint larger than memory is
converted stage by stage.
"""
from models.convert.safetensors import SafetensorsFile
from models.convert.weights import CheckpointError, weight_map


class LazyWeights:
    def __init__(self, folder, component):
        self.folder = folder
        self.component = component
        self._files = weight_map(folder)
        self._open = {}

    def keys(self):
        return self._files.keys()

    def __contains__(self, name):
        return name in self._files

    def __getitem__(self, name):
        if name not in self._files:
            raise KeyError(name)
        path = self._files[name]
        st = self._open.get(path)
        if st is None:
            st = self._open[path] = SafetensorsFile(path)
        return st.tensor(name)

    def __call__(self, name):
        return self[name]

    def shape(self, name):
        path = self._files[name]
        st = self._open.get(path) or self._open.setdefault(path, SafetensorsFile(path))
        return tuple(st.shape(name))

    def require_exactly(self, expected, shapes=None):
        """Refuses unless the file's keys are exactly ``expected`` (and, given ``shapes``, of those shapes)."""
        expected = set(expected)
        missing = sorted(expected - set(self._files))
        unexpected = sorted(set(self._files) - expected)
        if missing or unexpected:
            parts = []
            if missing:
                parts.append("%d weight(s) the %s needs are not in it (%s)" % (len(missing), self.component, ", ".join(missing[:8])))
            if unexpected:
                parts.append("%d weight(s) in it are not part of the %s (%s)" % (len(unexpected), self.component, ", ".join(unexpected[:8])))
            raise CheckpointError("%s: not the %s its config.json describes: %s" % (self.folder, self.component, "; ".join(parts)))
        for name, shape in (shapes or {}).items():
            if self.shape(name) != tuple(shape):
                raise CheckpointError(
                    "%s: %s has shape %s, the %s its config.json describes needs %s" % (self.folder, name, list(self.shape(name)), self.component, list(shape))
                )

    def close(self):
        for st in self._open.values():
            st.close()
        self._open.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
