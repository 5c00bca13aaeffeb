"""Inner-product vector search over L2-normalised embeddings: FAISS flat/IVF/HNSW, or exact torch search.

Backend choice (`VectorIndex.backend`):
  flat on a GPU:  FAISS GPU when faiss has GPUs (a copy on each, or `gpu_shard: true` to split the vectors between
                  them), else exact torch matmul on the GPU;
  flat on a CPU:  FAISS when installed, else exact torch matmul;
  ivf / hnsw:     FAISS (IVF moves to the GPU when faiss has GPUs; HNSW stays on the CPU).
  ivfpq:          FAISS IVF with product-quantised codes (`pq_m` bytes a vector instead of 4 * dim; OPQ rotation
                  with `opq: true`), trained on a sample of at most `train_sample` vectors: for 10M+ passages.
                  `refine: sq8` (or `flat`) re-ranks the `refine_k` x k nearest by PQ codes with 8-bit scalar-
                  quantised (or exact) copies of the vectors: recall back near IVF-Flat's for dim (or 4 x dim)
                  more bytes a vector (faiss IndexRefine, kept on the CPU).
  hnswpq:         an HNSW graph over PQ codes (`pq_m` bytes a vector plus the graph's links): no coarse cells to
                  probe, so a query walks the graph straight to its neighbours; trained on a sample like ivfpq,
                  `refine` as there. CPU only (FAISS has no GPU HNSW).
  on_disk:        ivf / ivfpq saved with their inverted lists in `vectors.ivfdata` beside `vectors.faiss`
                  (faiss OnDiskInvertedLists) and memory-mapped read-only at load: an index larger than RAM
                  opens at once and resident memory grows only with the lists that queries read.
Presets (`IndexSpec`) reach recall@10 >= 0.95 of flat on MiniLM embeddings of the bundled corpus
(see benchmarks/bench_search.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ragadapt.errors import ManifestError
from ragadapt.retrievers.faiss_support import faiss_gpus, has_faiss, import_faiss

KINDS = ("flat", "ivf", "hnsw", "ivfpq", "hnswpq")
IVF_KINDS = ("ivf", "ivfpq")
PQ_KINDS = ("ivfpq", "hnswpq")
TRAINED_KINDS = IVF_KINDS + ("hnswpq",)  # created at the first add: they are trained on (a sample of) the vectors
FAISS_FILE, TORCH_FILE, LISTS_FILE = "vectors.faiss", "vectors.safetensors", "vectors.ivfdata"
REFINES = {None: "", "sq8": ",Refine(SQ8)", "flat": ",RFlat"}  # IndexSpec.refine -> index_factory suffix


@dataclass
class IndexSpec:
    kind: str = "flat"
    nlist: int | None = None  # IVF cells; default 4*sqrt(n), at most n/39 (FAISS needs ~39 points per cell)
    nprobe: int = 20  # IVF cells visited per query
    hnsw_m: int = 32  # hnsw / hnswpq: graph degree
    ef_construction: int = 80
    ef_search: int = 32
    pq_m: int | None = None  # ivfpq / hnswpq: sub-quantisers (bytes per vector); default dim / 8, a divisor of dim
    pq_bits: int = 8  # ivfpq: bits per sub-quantiser code (2**bits centroids each)
    opq: bool = False  # ivfpq: learn a rotation first (OPQ) for lower quantisation error
    train_sample: int = 200_000  # ivf / ivfpq: vectors the coarse quantiser and the codebooks are trained on
    refine: str | None = None  # ivfpq / hnswpq: re-rank candidates with sq8 (1 byte a dim) or flat (exact) vectors
    refine_k: int = 4  # ivfpq with refine: candidates re-ranked = refine_k * k
    on_disk: bool = False  # ivf / ivfpq: inverted lists saved in their own file and memory-mapped at load
    gpu_shard: bool = False  # several GPUs: split the vectors between them (an index larger than one GPU's memory)
    #                          instead of a full copy on each (more queries per second when one copy fits)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown index kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.refine not in REFINES:
            raise ValueError(f"unknown refine {self.refine!r}; choose one of sq8, flat (or none)")
        if self.refine and self.kind not in PQ_KINDS:
            raise ValueError(f"refine re-ranks PQ candidates: it needs kind ivfpq or hnswpq, not {self.kind}")
        if self.refine_k < 1:
            raise ValueError(f"refine_k must be >= 1, got {self.refine_k}")
        if self.on_disk and self.kind not in IVF_KINDS:
            raise ValueError(f"on_disk keeps inverted lists on disk: it needs kind ivf or ivfpq, not {self.kind}")

    def factory(self, dim: int, n: int) -> str:
        """The faiss index_factory string of a trained kind (ivf, ivfpq, hnswpq) for `n` vectors of `dim`."""
        nlist = self.nlist or int(4 * math.sqrt(n))
        nlist = max(1, min(nlist, n // 39))
        if self.kind == "ivf":
            return f"IVF{nlist},Flat"
        m = self.pq_subquantizers(dim)
        opq, refine = f"OPQ{m}," if self.opq else "", REFINES[self.refine]
        if self.kind == "hnswpq":
            return f"{opq}HNSW{self.hnsw_m}_PQ{m}x{self.pq_bits}{refine}"
        return f"{opq}IVF{nlist},PQ{m}x{self.pq_bits}{refine}"

    def metric(self, faiss) -> int:
        """The faiss metric of the index. HNSW over PQ codes is built in L2, where its graph finds neighbours
        (the unit test's clustered vectors, 4-bit codes: recall@10 0.24 with inner products, 0.41 in L2); for
        unit vectors the ranking is the same and search turns the distances back into inner products."""
        return faiss.METRIC_L2 if self.kind == "hnswpq" else faiss.METRIC_INNER_PRODUCT

    def pq_subquantizers(self, dim: int) -> int:
        m = self.pq_m or max(1, dim // 8)
        if dim % m:
            raise ValueError(f"pq_m={m} must divide the vector dimension {dim}")
        return m

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> IndexSpec:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _use_cuda(device: str | None) -> bool:
    import torch

    return torch.cuda.is_available() and (device is None or str(device).startswith("cuda"))


class _TorchBackend:
    """Exact search with a matmul; on the GPU this is the fallback when faiss has no GPU support."""

    name = "torch"

    def __init__(self, dim: int, device: str):
        import torch

        self.device = device
        self.vectors = torch.empty((0, dim), dtype=torch.float32, device=device)

    @property
    def ntotal(self) -> int:
        return int(self.vectors.shape[0])

    def add(self, x: np.ndarray) -> None:
        import torch

        self.vectors = torch.cat([self.vectors, torch.from_numpy(x).to(self.device)])

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import torch

        k = min(k, self.ntotal)
        scores, ids = [], []
        with torch.no_grad():
            for start in range(0, len(q), 1024):
                s, i = torch.topk(torch.from_numpy(q[start:start + 1024]).to(self.device) @ self.vectors.T, k, dim=1)
                scores.append(s.float().cpu().numpy())
                ids.append(i.cpu().numpy())
        return np.concatenate(scores), np.concatenate(ids).astype(np.int64)

    def stored_vectors(self) -> np.ndarray:
        return self.vectors.float().cpu().numpy()

    def save(self, directory: Path) -> str:
        from safetensors.numpy import save_file

        save_file({"vectors": self.vectors.cpu().numpy()}, str(directory / TORCH_FILE))
        return TORCH_FILE


def _hnsw_of(index):
    """The HNSW graph of an HNSW index, through the OPQ / refine wrappers index_factory puts around it."""
    faiss = import_faiss()
    index = faiss.downcast_index(index)
    while not hasattr(index, "hnsw"):
        index = faiss.downcast_index(index.base_index if hasattr(index, "base_index") else index.index)
    return index.hnsw


class _FaissBackend:
    """A FAISS CPU index (the saved form), cloned to the GPUs for search when faiss has them."""

    def __init__(self, index, spec: IndexSpec, gpu: bool, dim: int, mapped_from: Path | None = None):
        self.index, self.spec, self.gpu, self.dim = index, spec, gpu, dim
        self.mapped_from = mapped_from  # the read-only lists file of an index loaded with on_disk
        self._gpu_index = None
        self.name = "faiss-gpu" if gpu else "faiss-cpu"
        self._set_search_params(index)

    @classmethod
    def create(cls, dim: int, spec: IndexSpec, gpu: bool) -> _FaissBackend:
        faiss = import_faiss()
        if spec.kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = spec.ef_construction
            gpu = False  # FAISS has no GPU HNSW
        elif spec.kind == "flat":
            index = faiss.IndexFlatIP(dim)
        else:
            index = None  # IVF is created at the first add, when the number of points fixes nlist
            gpu = gpu and not spec.refine and spec.kind != "hnswpq"
        return cls(index, spec, gpu, dim)

    @property
    def ntotal(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def _set_search_params(self, index) -> None:
        if index is None:
            return
        faiss = import_faiss()
        if self.spec.kind in IVF_KINDS:
            nlist = faiss.extract_index_ivf(index).nlist
            faiss.extract_index_ivf(index).nprobe = min(self.spec.nprobe, nlist)
        elif self.spec.kind in ("hnsw", "hnswpq"):
            graph = _hnsw_of(index)
            graph.efSearch = self.spec.ef_search
            graph.efConstruction = self.spec.ef_construction  # read by add(): set before the first vectors go in
        if self.spec.refine:
            faiss.downcast_index(index).k_factor = float(self.spec.refine_k)

    def _create_trained(self, x: np.ndarray) -> None:
        faiss = import_faiss()
        index = faiss.index_factory(self.dim, self.spec.factory(self.dim, len(x)), self.spec.metric(faiss))
        sample = x
        if len(x) > self.spec.train_sample:  # a fixed-seed sample: the same vectors give the same index
            rows = np.random.default_rng(0).choice(len(x), self.spec.train_sample, replace=False)
            sample = x[np.sort(rows)]
        index.train(sample)
        self.index = index
        self._set_search_params(index)

    def add(self, x: np.ndarray) -> None:
        if self.mapped_from is not None:
            raise ValueError(f"the inverted lists of this index are memory-mapped read-only from {self.mapped_from}: "
                             "build the index again (ragadapt build) to add passages")
        if self.index is None:
            self._create_trained(x)
        self.index.add(x)
        self._gpu_index = None

    def _searcher(self):
        if not self.gpu:
            return self.index
        if self._gpu_index is None:
            faiss = import_faiss()
            options = faiss.GpuMultipleClonerOptions()
            options.shard = self.spec.gpu_shard  # each GPU searches its share; faiss merges the top-k
            self._gpu_index = faiss.index_cpu_to_all_gpus(self.index, co=options)
            if self.spec.kind in IVF_KINDS:
                faiss.GpuParameterSpace().set_index_parameter(self._gpu_index, "nprobe", self.spec.nprobe)
        return self._gpu_index

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, rows = self._searcher().search(q, min(k, self.ntotal))
        if self.index.metric_type == import_faiss().METRIC_L2:  # unit vectors: |q - x|^2 = 2 - 2 <q, x>
            scores = np.where(rows >= 0, 1.0 - scores / 2.0, scores).astype(np.float32)
        return scores, rows

    def stored_vectors(self) -> np.ndarray:
        if self.ntotal == 0:
            return np.zeros((0, self.dim), np.float32)
        if self.spec.kind in IVF_KINDS:  # PQ codes decode to approximations of the vectors
            import_faiss().extract_index_ivf(self.index).make_direct_map()
        return self.index.reconstruct_n(0, self.ntotal)

    def save(self, directory: Path) -> str:
        faiss = import_faiss()
        if not self.spec.on_disk:
            faiss.write_index(self.index, str(directory / FAISS_FILE))
            return FAISS_FILE
        # The lists are copied into vectors.ivfdata and the index is written pointing at that file; the index
        # in memory gets its own lists back (it must not own, and so free, them while the file stands in).
        ivf = faiss.extract_index_ivf(self.index)
        lists = faiss.OnDiskInvertedLists(ivf.nlist, ivf.code_size, str(directory / LISTS_FILE))
        lists.merge_from_1(ivf.invlists, False)
        in_memory, owned = ivf.invlists, ivf.own_invlists
        ivf.own_invlists = False
        ivf.replace_invlists(lists, False)
        try:
            faiss.write_index(self.index, str(directory / FAISS_FILE))
        finally:
            ivf.replace_invlists(in_memory, owned)
        return FAISS_FILE


class VectorIndex:
    """Add normalised vectors, search by inner product. Rows are numbered in insertion order."""

    def __init__(self, dim: int, spec: IndexSpec | str = "flat", device: str | None = None, _backend=None):
        self.dim = dim
        self.spec = IndexSpec(kind=spec) if isinstance(spec, str) else spec
        self._b = _backend if _backend is not None else self._choose_backend(device)

    def _choose_backend(self, device: str | None):
        cuda = _use_cuda(device)
        if self.spec.kind == "flat" and not has_faiss():
            return _TorchBackend(self.dim, "cuda" if cuda else "cpu")
        gpu = cuda and faiss_gpus() > 0
        if self.spec.kind == "flat" and cuda and not gpu:
            return _TorchBackend(self.dim, "cuda")
        return _FaissBackend.create(self.dim, self.spec, gpu)

    @property
    def backend(self) -> str:
        return self._b.name if self._b.name != "torch" else f"torch-{self._b.device}"

    @property
    def ntotal(self) -> int:
        return self._b.ntotal

    def __len__(self) -> int:
        return self.ntotal

    def add(self, vectors: np.ndarray) -> None:
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {x.shape}")
        if len(x):
            self._b.add(x)

    def vectors(self) -> np.ndarray:
        """All stored vectors, (ntotal, dim) float32, in row order."""
        return self._b.stored_vectors()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, rows), each (n_queries, min(k, ntotal)); rows of missing results are -1."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if self.ntotal == 0 or k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        return self._b.search(q, k)

    def save(self, directory: str | Path) -> str:
        """Write the vectors into `directory`; returns the file name (recorded in the owner's manifest)."""
        return self._b.save(Path(directory))

    @classmethod
    def load(cls, directory: str | Path, dim: int, spec: IndexSpec, device: str | None = None) -> VectorIndex:
        directory = Path(directory)
        cuda = _use_cuda(device)
        if (directory / TORCH_FILE).is_file():
            from safetensors.numpy import load_file

            index = cls(dim, spec, device)
            index.add(load_file(str(directory / TORCH_FILE))["vectors"])
            return index
        if not (directory / FAISS_FILE).is_file():
            raise ManifestError(f"{directory}: no {FAISS_FILE} or {TORCH_FILE}")
        faiss = import_faiss()
        mapped = directory / LISTS_FILE if spec.on_disk else None
        if mapped is not None and not mapped.is_file():
            raise ManifestError(f"{directory}: the index keeps its inverted lists in {LISTS_FILE}, which is missing")
        # IO_FLAG_ONDISK_SAME_DIR: the lists file is found beside the index file (a moved system still loads)
        flags = faiss.IO_FLAG_ONDISK_SAME_DIR | faiss.IO_FLAG_READ_ONLY if mapped is not None else 0
        raw = faiss.read_index(str(directory / FAISS_FILE), flags)
        if raw.d != dim:
            raise ManifestError(f"{directory / FAISS_FILE}: vectors have dimension {raw.d}, the manifest says {dim}")
        if spec.kind == "flat" and cuda and faiss_gpus() == 0:
            index = cls(dim, spec, "cuda")
            index.add(raw.reconstruct_n(0, raw.ntotal))
            return index
        if mapped is not None:  # prefetching spawns threads at every search: 20x slower one query at a time
            faiss.downcast_InvertedLists(faiss.extract_index_ivf(raw).invlists).prefetch_nthread = 0
        # faiss cannot move an IndexRefine or an HNSW graph to a GPU; lists on disk stay there
        gpu = cuda and faiss_gpus() > 0 and not spec.refine and not spec.on_disk and spec.kind not in ("hnsw", "hnswpq")
        return cls(dim, spec, device, _backend=_FaissBackend(raw, spec, gpu, dim, mapped))
