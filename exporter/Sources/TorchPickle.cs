using System.Buffers.Binary;
using System.Collections;
using System.IO.Compression;
using Razorvine.Pickle;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Exporter.Sources;

/// <summary>
/// Reads a <c>torch.save</c> file of PyTorch's zip format (goldens/checkpoints/README.md §1–2) without
/// libtorch: <c>&lt;prefix&gt;/data.pkl</c> is unpickled with Razorvine.Pickle, whose persistent ids
/// name the raw storages <c>&lt;prefix&gt;/data/&lt;key&gt;</c>; every tensor comes back as a
/// <see cref="SafeTensor"/> (contiguous, little-endian). Dicts are <see cref="Hashtable"/>, OrderedDicts
/// <see cref="PickledOrderedDict"/> (insertion order kept), lists <see cref="ArrayList"/>, tuples object[].
/// Only the globals a state_dict or a run_train.py checkpoint uses are known; any other is an error.
/// </summary>
public static class TorchPickle
{
    static readonly Dictionary<string, (string DType, int Size)> Storages = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = ("F32", 4), ["DoubleStorage"] = ("F64", 8), ["HalfStorage"] = ("F16", 2),
        ["BFloat16Storage"] = ("BF16", 2), ["LongStorage"] = ("I64", 8), ["IntStorage"] = ("I32", 4),
        ["ShortStorage"] = ("I16", 2), ["CharStorage"] = ("I8", 1), ["ByteStorage"] = ("U8", 1), ["BoolStorage"] = ("BOOL", 1),
    };

    static readonly Lock RegistryLock = new();

    // Creation order of every tensor rebuilt, process-wide: see PickledOrderedDict.OrderedKeys.
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SafeTensor, object> Sequence = [];
    static long created;

    /// <summary>When <paramref name="value"/> is a tensor this reader rebuilt: its position in the order of reading.</summary>
    internal static long? SequenceOf(object? value) =>
        value is SafeTensor t && Sequence.TryGetValue(t, out var n) ? (long)n : null;
    static bool registered;

    /// <summary>Largest data.pkl accepted (the pickle of a state_dict is kilobytes; the tensors are separate entries).</summary>
    public const long MaxPickleBytes = 256L << 20;

    // What one Load may allocate, checked by the constructors Razorvine calls (its registry is static).
    [ThreadStatic] static LoadLimits? limits;

    sealed class LoadLimits(string path, long fileBytes, CancellationToken cancel)
    {
        public string Path { get; } = path;
        public long FileBytes { get; } = fileBytes;
        public CancellationToken Cancel { get; } = cancel;
        public long Storages { get; set; }
        public long Tensors { get; set; }
    }

    /// <summary>
    /// Unpickles <paramref name="path"/>; a file of another kind, a truncated one, or one whose tensors
    /// claim more bytes than the file holds is a one-line <see cref="SeddException"/>.
    /// </summary>
    /// <param name="path">A zip-format torch.save file (pytorch_model.bin, checkpoint.pth).</param>
    /// <param name="cancel">Checked while reading storages and copying tensors.</param>
    public static object Load(string path, CancellationToken cancel = default)
    {
        Register();
        UserFiles.RequireRegularFile(path, "checkpoint");
        long fileBytes = new FileInfo(path).Length;
        // The storages (at most the file) and the tensors copied out of them (at most twice the file, see RebuildTensor).
        MemoryBudget.Require(MemoryBudget.Product(fileBytes, 3), $"reading {path}", "close other programs or use a machine with more memory", SeddException.Environment);
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(path); }
        catch (InvalidDataException) { throw Bad(path, IsLegacyPickle(path) ? "it is PyTorch's legacy (pre-1.6) pickle format; re-save it with torch.save in the zip format" : "it is not a zip archive (truncated or not a torch.save file)"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new SeddException($"cannot read {path}: {e.Message}", SeddException.BadInput); }
        using (zip)
        {
            var previous = limits;
            limits = new LoadLimits(path, fileBytes, cancel);
            try
            {
                // The central directory is read here, lazily: a damaged one is reported like a damaged pickle.
                var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl").ToList();
                if (pickles.Count != 1) throw Bad(path, $"a torch.save archive holds exactly one data.pkl, this zip holds {pickles.Count}");
                var prefix = pickles[0].FullName[..^"data.pkl".Length];
                var pickle = ReadEntry(pickles[0], Math.Min(MaxPickleBytes, fileBytes), path, cancel);
                PickleScan.Check(pickle, cancel);
                using var unpickler = new StorageUnpickler(zip, prefix, path);
                return unpickler.load(new MemoryStream(pickle, writable: false));
            }
            catch (Exception e) when (e is not (SeddException or OperationCanceledException or OutOfMemoryException))
            {
                // The archive is untrusted input: whatever the zip reader, the unpickler or a constructor throws is about the file.
                throw Bad(path, $"its archive or pickle cannot be read ({e.GetType().Name}: {e.Message.Split('\n')[0]})");
            }
            finally { limits = previous; }
        }
    }

    /// <summary>An archive entry's bytes, refusing one that claims more than <paramref name="max"/> (the file itself, for a stored entry).</summary>
    static byte[] ReadEntry(ZipArchiveEntry entry, long max, string path, CancellationToken cancel)
    {
        if (entry.Length > max || entry.Length > Array.MaxLength)
            throw Bad(path, $"{entry.FullName} claims {entry.Length:N0} bytes, more than the file's {max:N0} could hold");
        var bytes = new byte[entry.Length];
        using var stream = entry.Open();
        for (int at = 0; at < bytes.Length;)
        {
            cancel.ThrowIfCancellationRequested();
            int n = stream.Read(bytes, at, Math.Min(1 << 20, bytes.Length - at));
            if (n == 0) throw Bad(path, $"{entry.FullName} ends early (truncated?)");
            at += n;
        }
        return bytes;
    }

    /// <summary>A pickled integer (int, long or a small BigInteger) as a long.</summary>
    static long Integer(object? value, string what) => value switch
    {
        int i => i,
        long l => l,
        System.Numerics.BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        _ => throw new PickleException($"{what} is {value?.GetType().Name ?? "None"}, expected an integer"),
    };

    static bool IsLegacyPickle(string path)
    {
        try
        {
            using var f = UserFiles.OpenRead(path, "checkpoint");
            return f.ReadByte() == 0x80;   // PROTO opcode: a bare pickle, the pre-zip torch.save format
        }
        catch (IOException) { return false; }
    }

    internal static SeddException Bad(string path, string why) => new($"{path} is not a readable PyTorch checkpoint: {why}", SeddException.BadInput);

    // Razorvine's constructor registry is static: fill it once per process.
    static void Register()
    {
        lock (RegistryLock)
        {
            if (registered) return;
            Unpickler.registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
            Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", new RebuildTensor());
            foreach (var (name, kind) in Storages)
                Unpickler.registerConstructor("torch", name, new StorageKind(name, kind.DType, kind.Size));
            // NumPy 1 and 2 module names of the scalar reconstructor (run_train.py stores lr as numpy.float64).
            Unpickler.registerConstructor("numpy", "dtype", new NumpyDtypeConstructor());
            Unpickler.registerConstructor("numpy.core.multiarray", "scalar", new NumpyScalarConstructor());
            Unpickler.registerConstructor("numpy._core.multiarray", "scalar", new NumpyScalarConstructor());
            registered = true;
        }
    }

    /// <summary>A torch storage class (the GLOBAL <c>torch.FloatStorage</c> ...) as it appears in a persistent id.</summary>
    sealed record StorageKind(string Name, string DType, int Size) : IObjectConstructor
    {
        public object construct(object[] args) => throw new PickleException($"torch.{Name} is never called in a state_dict pickle");
    }

    /// <summary>One storage of the archive, read when a tensor needs it.</summary>
    sealed record Storage(StorageKind Kind, byte[] Bytes);

    sealed class StorageUnpickler(ZipArchive zip, string prefix, string path) : Unpickler
    {
        readonly Dictionary<string, Storage> loaded = new(StringComparer.Ordinal);

        // pid = ('storage', storage_type, key, location, numel); the location tag (cpu, cuda:0) is irrelevant here.
        protected override object persistentLoad(object pid)
        {
            if (pid is not object[] { Length: 5 } t || t[0] as string != "storage" || t[1] is not StorageKind kind || t[2] is not string key)
                throw Bad(path, "a persistent id is not a ('storage', type, key, location, numel) tuple");
            if (loaded.TryGetValue(key, out var s)) return s;
            var entry = zip.GetEntry(prefix + "data/" + key) ?? throw Bad(path, $"storage data/{key} is missing from the archive (truncated?)");
            var context = limits!;
            long numel = Integer(t[4], "a storage's element count");
            long need = MemoryBudget.Product(numel, kind.Size);
            if (entry.Length != need) throw Bad(path, $"storage data/{key} has {entry.Length} bytes, its {numel} {kind.Name} elements need {(need == long.MaxValue ? "more" : need)}");
            // torch.save stores its entries uncompressed: together they cannot exceed the file.
            context.Storages += entry.Length;
            if (context.Storages > context.FileBytes)
                throw Bad(path, $"its storages claim {context.Storages:N0} bytes, more than the file's {context.FileBytes:N0}");
            var bytes = ReadEntry(entry, context.FileBytes, path, context.Cancel);
            return loaded[key] = new Storage(kind, bytes);
        }
    }

    /// <summary>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) → a contiguous copy.</summary>
    sealed class RebuildTensor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length < 4 || args[0] is not Storage storage || args[2] is not object[] size || args[3] is not object[] strides)
                throw new PickleException("_rebuild_tensor_v2 expects (storage, offset, size, stride, ...)");
            var context = limits ?? throw new PickleException("a tensor outside a checkpoint being loaded");
            long offset = Integer(args[1], "a storage offset");
            var shape = Array.ConvertAll(size, d => Integer(d, "a tensor dimension"));
            var stride = Array.ConvertAll(strides, d => Integer(d, "a tensor stride"));
            int itemSize = storage.Kind.Size;
            long storageElements = storage.Bytes.Length / itemSize;
            if (shape.Length != stride.Length || offset < 0 || shape.Any(d => d < 0) || stride.Any(d => d < 0))
                throw new PickleException($"a tensor has size [{string.Join(", ", shape)}], stride [{string.Join(", ", stride)}] and offset {offset}, which no tensor has");
            // Checked before anything is allocated: the copy may not exceed the file, nor all copies twice the file
            // (a state_dict's tensors each own their storage; views of a shared one stay far below).
            long count = MemoryBudget.Product(shape);
            long bytes = MemoryBudget.Product(count, itemSize);
            context.Tensors = bytes == long.MaxValue ? long.MaxValue : context.Tensors + bytes;
            if (bytes > context.FileBytes || context.Tensors > 2 * context.FileBytes + (1 << 20))
                throw Bad(context.Path, $"a tensor of size [{string.Join(", ", shape)}] would take {(bytes == long.MaxValue ? "more than 9 EB" : MemoryBudget.Format(bytes))}, more than the file holds");
            if (count > 0)
            {
                long last = offset;
                for (int d = 0; d < shape.Length; d++) last = Saturating(last, MemoryBudget.Product(shape[d] - 1, stride[d]));
                if (last >= storageElements) throw new PickleException("a tensor reaches outside its storage");
            }
            var data = new byte[bytes];
            if (bytes > 0 && IsContiguous(shape, stride)) Buffer.BlockCopy(storage.Bytes, checked((int)(offset * itemSize)), data, 0, data.Length);
            else if (bytes > 0) Gather(storage.Bytes, offset, shape, stride, itemSize, data, context.Cancel);
            var tensor = new SafeTensor(storage.Kind.DType, shape, data);
            Sequence.AddOrUpdate(tensor, Interlocked.Increment(ref created));
            return tensor;
        }

        static long Saturating(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

        static bool IsContiguous(long[] shape, long[] stride)
        {
            long expected = 1;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (shape[d] != 1 && stride[d] != expected) return false;
                expected *= shape[d];
            }
            return true;
        }

        // Walk the elements in row-major order, gathering each through the strides (views and transposes).
        static void Gather(byte[] source, long offset, long[] shape, long[] stride, int size, byte[] data, CancellationToken cancel)
        {
            long count = data.Length / size;
            var index = new long[shape.Length];
            for (long i = 0; i < count; i++)
            {
                if ((i & 0xFFFFF) == 0) cancel.ThrowIfCancellationRequested();
                long at = offset;
                for (int d = 0; d < shape.Length; d++) at += index[d] * stride[d];
                Buffer.BlockCopy(source, (int)(at * size), data, (int)(i * size), size);
                for (int d = shape.Length - 1; d >= 0; d--)
                {
                    if (++index[d] < shape[d]) break;
                    index[d] = 0;
                }
            }
        }
    }

    sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args) => new PickledOrderedDict();
    }

    /// <summary>numpy.dtype('f8', False, True) followed by a BUILD state; only the type code matters.</summary>
    sealed class NumpyDtypeConstructor : IObjectConstructor
    {
        public object construct(object[] args) => new NumpyDtype(args.Length > 0 ? args[0] as string ?? "" : "");
    }

    sealed class NumpyScalarConstructor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length < 2 || args[0] is not NumpyDtype dtype || args[1] is not byte[] bytes)
                throw new PickleException("numpy scalar expects (dtype, bytes)");
            return dtype.Code switch
            {
                "f8" when bytes.Length == 8 => BinaryPrimitives.ReadDoubleLittleEndian(bytes),
                "f4" when bytes.Length == 4 => (double)BinaryPrimitives.ReadSingleLittleEndian(bytes),
                "i8" when bytes.Length == 8 => BinaryPrimitives.ReadInt64LittleEndian(bytes),
                "i4" when bytes.Length == 4 => (long)BinaryPrimitives.ReadInt32LittleEndian(bytes),
                _ => throw new PickleException($"numpy scalar of dtype '{dtype.Code}' is not supported"),
            };
        }
    }
}

/// <summary>
/// A pickled <c>collections.OrderedDict</c>. Razorvine fills dicts through <see cref="Hashtable"/>'s
/// indexer, so this is a Hashtable that also records the order (<see cref="OrderedKeys"/>); the
/// state_dict's <c>_metadata</c> is dropped.
/// </summary>
public sealed class PickledOrderedDict : Hashtable
{
    readonly List<object> order = [];

    /// <summary>
    /// Keys in the pickle's order. Razorvine applies each SETITEMS batch (up to 1000 pairs) popped from
    /// its stack, i.e. reversed, so the indexer sees a permuted order; the values, though, are read
    /// strictly in file order. When every value is a tensor this reader rebuilt, keys are ordered by
    /// when their tensor was read, which is the OrderedDict's order; otherwise by insertion.
    /// </summary>
    public IReadOnlyList<object> OrderedKeys =>
        order.All(k => TorchPickle.SequenceOf(base[k]) != null) ? [.. order.OrderBy(k => TorchPickle.SequenceOf(base[k]))] : order;

    /// <inheritdoc />
    public override object? this[object key]
    {
        get => base[key];
        set
        {
            if (!ContainsKey(key)) order.Add(key);
            base[key] = value;
        }
    }

    /// <inheritdoc />
    public override void Add(object key, object? value)
    {
        base.Add(key, value);
        order.Add(key);
    }

    /// <summary>BUILD hook Razorvine calls with the object's state (state_dict <c>_metadata</c>); ignored.</summary>
    /// <param name="state">The pickled state.</param>
#pragma warning disable CA1707, IDE1006, CA1822 // the name is Python's protocol, called by reflection
    public void __setstate__(object state) { }
#pragma warning restore CA1707, IDE1006, CA1822
}

/// <summary>A pickled numpy.dtype; <see cref="Code"/> is its type string ('f8', 'i8').</summary>
/// <param name="Code">Type code.</param>
sealed record NumpyDtype(string Code)
{
#pragma warning disable CA1707, IDE1006, CA1822, IDE0060 // Python's protocol, called by reflection
    public void __setstate__(object[] state) { }
#pragma warning restore CA1707, IDE1006, CA1822, IDE0060
}
