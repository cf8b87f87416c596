using System.Buffers.Binary;
using Qcow2.Block;
using Qcow2.Format;
using Qcow2.Storage;

namespace Qcow2.UnitTests.Engine;

/// <summary>The block layer's request bounds (bdrv_check_request): EIO past BDRV_MAX_LENGTH, before any byte moves.</summary>
[TestFixture]
public class StorageRequestTests
{
    [TestCase(0x7fffffffffff0000L, 8)]
    [TestCase(StorageRequest.MaxLength - 4, 8)]
    [TestCase(-512L, 8)]
    public void Reads_and_writes_past_the_block_layer_limit_fail_with_EIO(long offset, int length)
    {
        var m = new MemoryStorage(new byte[4096]);
        var read = Assert.Throws<BlockIOException>(() => m.Read(offset, new byte[length]));
        var write = Assert.Throws<BlockIOException>(() => m.Write(offset, new byte[length]));
        Assert.Multiple(() =>
        {
            Assert.That(read!.Errno, Is.EqualTo(Errno.EIO));
            Assert.That(write!.Errno, Is.EqualTo(Errno.EIO));
            Assert.That(m.Length, Is.EqualTo(4096), "the failed write must not grow the store");
        });
    }

    [Test]
    public void A_read_just_below_the_limit_past_the_end_reads_zeros()
    {
        var m = new MemoryStorage([1, 2, 3]);
        var b = new byte[8];
        b.AsSpan().Fill(0xff);
        m.Read(StorageRequest.MaxLength - 8, b);
        Assert.That(b, Is.All.EqualTo(0));
    }

    [Test]
    public void Open_refuses_an_L1_table_past_the_limit_with_QEMUs_message()
    {
        var storage = EngineFixture.NewImage(1 << 20);
        var bytes = storage.ToArray();
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(Header.L1TableOffsetOffset), 0x7fffffffffff0000);
        var e = Assert.Throws<ImageOpenException>(() =>
            Qcow2Image.Open(new MemoryStorage(bytes), "t.img", new OpenOptions { Format = "qcow2" }).Dispose());
        Assert.That(e!.Message, Is.EqualTo("Could not read L1 table: Input/output error"));
    }
}
