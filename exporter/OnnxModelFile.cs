using System.Globalization;
using Google.Protobuf;
using Onnx;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Exporter;

/// <summary>
/// Writes a ModelProto to disk, moving large initializers to a side file (ONNX external data) so the
/// protobuf stays far below its 2 GB limit (SEDD-medium in float32 is ≈ 1.7 GB).
/// </summary>
public static class OnnxModelFile
{
    /// <summary>
    /// Alignment of each external tensor. ExternalData.md: multiples of 4096 allow mmap; Windows maps at
    /// 64 KiB allocation granularity (onnx/onnx#6247), so pad to 64 KiB.
    /// </summary>
    public const int Alignment = 64 * 1024;

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/>. Floating-point initializers of at least
    /// <paramref name="externalThreshold"/> bytes go to <c>&lt;file name&gt;.data</c> beside it (location
    /// relative to the .onnx folder); with none that large, or a negative threshold, only the .onnx is written.
    /// The caller's model is not modified. Returns the data file's path, or null when none was written.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="path">Destination .onnx path.</param>
    /// <param name="externalThreshold">Smallest tensor (bytes) stored externally; negative keeps everything inline.</param>
    /// <param name="cancel">Checked between tensors; a cancelled write leaves no file behind.</param>
    public static string? Write(ModelProto model, string path, long externalThreshold = 1 << 20, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var copy = model.Clone();   // ByteStrings are immutable and shared: cheap
        var dataName = Path.GetFileName(path) + ".data";
        var dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, dataName);
        // int64 tensors are shapes, axes and slice bounds: ORT's shape inference reads them at load time
        // and refuses external ones ("Cannot parse data from external tensors"). They are tiny anyway.
        var large = externalThreshold < 0 ? [] : copy.Graph.Initializer
            .Where(t => t.DataType != (int)TensorProto.Types.DataType.Int64 && t.RawData.Length >= externalThreshold).ToList();
        try
        {
            if (large.Count > 0)
            {
                AtomicFile.Write(dataPath, data =>
                {
                    foreach (var t in large)
                    {
                        cancel.ThrowIfCancellationRequested();
                        long offset = (data.Position + Alignment - 1) / Alignment * Alignment;
                        data.SetLength(offset);
                        data.Position = offset;
                        t.RawData.WriteTo(data);
                        t.ExternalData.Add(Entry("location", dataName));
                        t.ExternalData.Add(Entry("offset", offset.ToString(CultureInfo.InvariantCulture)));
                        t.ExternalData.Add(Entry("length", t.RawData.Length.ToString(CultureInfo.InvariantCulture)));
                        t.DataLocation = TensorProto.Types.DataLocation.External;
                        t.RawData = ByteString.Empty;
                    }
                });
            }
            else if (File.Exists(dataPath))
                File.Delete(dataPath);   // a stale side file from an earlier export must not linger
            cancel.ThrowIfCancellationRequested();
            AtomicFile.WriteAllBytes(path, copy.ToByteArray());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"cannot write {path}: {e.Message}", SeddException.Environment);
        }
        return large.Count > 0 ? dataPath : null;
    }

    static StringStringEntryProto Entry(string key, string value) => new() { Key = key, Value = value };
}
