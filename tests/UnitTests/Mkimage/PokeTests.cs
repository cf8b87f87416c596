using System.Buffers.Binary;
using NUnit.Framework;
using Qcow2.Format;

namespace Qcow2.UnitTests.Mkimage;

/// <summary>poke/peek by structure name resolved from the image itself, poke-raw/peek-raw, and every error path.</summary>
[TestFixture]
public class PokeTests : MkimageFixture
{
    /// <summary>A 64 MiB image with data at guest 0 and 1 MiB: L2 at 0x40000, data clusters at 0x50000 and 0x60000.</summary>
    private void CreateWritten()
    {
        Create("img", "64M");
        Qemu("qemu-io", "-c", "write -P 0x11 0 64k", "-c", "write -P 0x22 1M 64k", "img");
    }

    private ulong U64At(long offset) => BinaryPrimitives.ReadUInt64BigEndian(Bytes("img").AsSpan((int)offset));

    /// <summary>A name, then its value in the image qemu-io wrote.</summary>
    private static IEnumerable<TestCaseData> NamedValues => Rows.Of(
        "header.l1_table_offset 0x30000", "header.snapshots_offset 0x0", "header.compression_type 0x0",
        "l1[0] 0x8000000000040000", "l2[0][0] 0x8000000000050000", "l2[0][16] 0x8000000000060000", "l2[0][1] 0x0",
        "refcount_table[0] 0x20000", "refcount_block[0][6] 0x1", "refcount_block[0][7] 0x0");

    [TestCaseSource(nameof(NamedValues))]
    public void Peek_reads_the_named_value_from_qemu_s_layout(string name, string expected)
    {
        CreateWritten();
        Assert.That(MkOk("img", "peek", name), Is.EqualTo(expected + "\n"));
    }

    [TestCase("l1[0]", 0x30000L)]
    [TestCase("l2[0][3]", 0x40018L)]
    [TestCase("refcount_table[1]", 0x10008L)]
    [TestCase("refcount_block[0][5]", 0x2000aL)]
    public void Poke_writes_exactly_the_named_entry(string name, long offset)
    {
        CreateWritten();
        var before = Bytes("img");
        MkOk("img", "poke", name, "0x1234");
        var after = Bytes("img");
        int width = name.StartsWith("refcount_block", StringComparison.Ordinal) ? 2 : 8;
        var expected = (byte[])before.Clone();
        expected.AsSpan((int)offset, width).Clear();
        expected[offset + width - 2] = 0x12;
        expected[offset + width - 1] = 0x34;
        Assert.That(after, Is.EqualTo(expected));
    }

    [Test]
    public void Poke_l2_entry_to_zero_makes_qemu_read_zeros()
    {
        CreateWritten();
        MkOk("img", "poke", "l2[0][0]", "0");
        Assert.That(Qemu("qemu-io", "-c", "read -P 0 0 64k", "img"), Does.StartWith("read 65536/65536 bytes at offset 0"));
        Assert.That(Qemu("qemu-img", "check", "img"), Does.Contain("Leaked cluster 5 refcount=1 reference=0"));
    }

    [Test]
    public void Poke_header_field_writes_only_that_field()
    {
        CreateWritten();
        MkOk("img", "poke", "header.header_length", "100");
        Assert.That(BinaryPrimitives.ReadUInt32BigEndian(Bytes("img").AsSpan(Header.HeaderLengthOffset)), Is.EqualTo(100u));
        Assert.That(Qemu("qemu-img", "info", "img"), Does.Contain("qcow2 header too short"));
    }

    [Test]
    public void Poke_accepts_a_negative_value_as_twos_complement()
    {
        CreateWritten();
        MkOk("img", "poke", "l2[0][1]", "-1");
        Assert.That(U64At(0x40008), Is.EqualTo(ulong.MaxValue));
    }

    [TestCase(0, 1)]
    [TestCase(1, 2)]
    [TestCase(2, 4)]
    [TestCase(3, 8)]
    [TestCase(4, 16)]
    [TestCase(5, 32)]
    [TestCase(6, 64)]
    public void Refcount_block_entries_follow_refcount_order_as_the_engine_reads_them(int order, int bits)
    {
        Create("img", "1M", "cluster_size=512", "refcount_bits=" + bits);
        ulong max = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        MkOk("img", "poke", "refcount_block[0][9]", max.ToString());
        MkOk("img", "poke", "refcount_block[0][10]", "1");
        MkOk("img", "poke", "refcount_block[0][1]", "0");
        ulong block = U64At(0x200 + 0) & 0xfffffffffffffe00; // reftable at cluster 1
        var raw = Bytes("img").AsSpan((int)block, 512).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(RefcountBlock.Get(raw, 9, order), Is.EqualTo(max));
            Assert.That(RefcountBlock.Get(raw, 10, order), Is.EqualTo(1UL));
            Assert.That(RefcountBlock.Get(raw, 1, order), Is.Zero);
            Assert.That(RefcountBlock.Get(raw, 0, order), Is.EqualTo(1UL), "neighbour untouched");
            Assert.That(RefcountBlock.Get(raw, 2, order), Is.EqualTo(1UL), "neighbour untouched");
            Assert.That(MkOk("img", "peek", "refcount_block[0][9]"), Is.EqualTo($"0x{max:x}\n"));
        });
        // QEMU agrees on the bit order: cluster 1 (the reftable) now has refcount 0.
        Assert.That(Qemu("qemu-img", "check", "img"), Does.Contain("ERROR cluster 1 refcount=0 reference=1"));
    }

    [Test]
    public void Refcount_block_value_must_fit_the_width()
    {
        Create("img", "1M", "refcount_bits=1");
        MkFails("mkimage: refcount_block[0][0]: value 2 does not fit in 1 bit", "img", "poke", "refcount_block[0][0]", "2");
    }

    [Test]
    public void Snapshot_fields_are_resolved_by_walking_the_snapshot_table()
    {
        CreateWritten();
        Qemu("qemu-img", "snapshot", "-c", "snap1", "img");
        Qemu("qemu-img", "snapshot", "-c", "a-longer-name", "img");
        Assert.Multiple(() =>
        {
            Assert.That(MkOk("img", "peek", "snapshot[0].name_size"), Is.EqualTo("0x5\n"));
            Assert.That(MkOk("img", "peek", "snapshot[1].name_size"), Is.EqualTo("0xd\n"));
            Assert.That(MkOk("img", "peek", "snapshot[1].id_str_size"), Is.EqualTo("0x1\n"));
            Assert.That(MkOk("img", "peek", "snapshot[1].extra_data_size"), Is.EqualTo("0x18\n"));
            Assert.That(MkOk("img", "peek", "snapshot[1].disk_size"), Is.EqualTo("0x4000000\n"));
            Assert.That(MkOk("img", "peek", "snapshot[0].l1_size"), Is.EqualTo("0x1\n"));
        });
        MkOk("img", "poke", "snapshot[1].l1_table_offset", "0x12345");
        Assert.That(Qemu("qemu-img", "check", "img"),
            Does.Contain("ERROR snapshot 2 (a-longer-name) l1_offset=0x12345: L1 table is not cluster aligned"));
    }

    [Test]
    public void Snapshot_extra_field_absent_from_the_entry_is_an_error()
    {
        CreateWritten();
        Qemu("qemu-img", "snapshot", "-c", "snap1", "img");
        MkOk("img", "poke", "snapshot[0].extra_data_size", "16");
        MkFails("mkimage: snapshot[0].icount: field icount is not present (extra_data_size is 16)",
            "img", "peek", "snapshot[0].icount");
    }

    [Test]
    public void Poke_raw_writes_printf_style_bytes()
    {
        CreateWritten();
        MkOk("img", "poke-raw", "0x40000", @"\x80\x00\x00\x00\x00\x06\0\0");
        Assert.That(U64At(0x40000), Is.EqualTo(0x8000000000060000UL));
        Assert.That(Qemu("qemu-io", "-c", "read -P 0x22 0 64k", "img"), Does.StartWith("read 65536/65536"));
    }

    [Test]
    public void Poke_raw_past_the_end_extends_the_file_like_dd()
    {
        CreateWritten();
        long len = Bytes("img").Length;
        MkOk("img", "poke-raw", (len + 8).ToString(), "AB");
        var b = Bytes("img");
        Assert.That((b.Length, b[^2], b[^1]), Is.EqualTo((len + 10, (byte)'A', (byte)'B')));
    }

    [Test]
    public void Peek_raw_prints_every_byte_in_hex()
    {
        CreateWritten();
        Assert.That(MkOk("img", "peek-raw", "0", "8"), Is.EqualTo("0x514649fb00000003\n"));
        Assert.That(MkOk("img", "peek-raw", "0x30000", "1"), Is.EqualTo("0x80\n"));
    }

    [Test]
    public void Errors_name_the_structure_and_the_reason()
    {
        CreateWritten();
        var before = Bytes("img");
        Assert.Multiple(() =>
        {
            MkFails("mkimage: l1[1]: index 1 is out of range (l1_size is 1)", "img", "peek", "l1[1]");
            MkFails("mkimage: l2[1][0]: index 1 is out of range (l1_size is 1)", "img", "poke", "l2[1][0]", "0");
            MkFails("mkimage: l2[0][8192]: index 8192 is out of range (an L2 table has 8192 entries)",
                "img", "poke", "l2[0][8192]", "0");
            MkFails("mkimage: refcount_table[8192]: index 8192 is out of range (the refcount table has 8192 entries)",
                "img", "peek", "refcount_table[8192]");
            MkFails("mkimage: refcount_block[1][0]: refcount table entry 1 is unallocated", "img", "poke", "refcount_block[1][0]", "1");
            MkFails("mkimage: refcount_block[0][32768]: index 32768 is out of range (a refcount block has 32768 entries of 16 bits)",
                "img", "peek", "refcount_block[0][32768]");
            MkFails("mkimage: snapshot[0].l1_size: index 0 is out of range (nb_snapshots is 0)", "img", "peek", "snapshot[0].l1_size");
            MkFails("mkimage: snapshot[0].foo: unknown snapshot field 'foo' (known: l1_table_offset, l1_size, id_str_size, " +
                "name_size, date_sec, date_nsec, vm_clock_nsec, vm_state_size, extra_data_size, vm_state_size_large, disk_size, icount)",
                "img", "peek", "snapshot[0].foo");
            MkFails("mkimage: 'l3[0]' is not a structure name (expected header.FIELD, l1[i], l2[i][j], l2[i][j].bitmap, refcount_table[i], " +
                "refcount_block[i][j] or snapshot[i].FIELD)", "img", "peek", "l3[0]");
            MkFails("mkimage: l1[-1]: '-1' is not a valid index", "img", "peek", "l1[-1]");
            MkFails("mkimage: 'zz' is not a valid number", "img", "poke", "l1[0]", "zz");
            MkFails("mkimage: l1[0]: value 18446744073709551616 does not fit in 64 bits", "img", "poke", "l1[0]", "0x10000000000000000");
            MkFails("mkimage: header.version: value 4294967296 does not fit in 32 bits", "img", "poke", "header.version", "0x100000000");
            MkFails("mkimage: peek-raw: range at 0x1000000 (8 bytes) lies beyond the end of the file (size 0x70000)",
                "img", "peek-raw", "0x1000000", "8");
            MkFails("mkimage: poke-raw: '\\x': missing hex digit for \\x", "img", "poke-raw", "0", "\\x");
            MkFails("mkimage: poke-raw: '%d': printf conversions are not supported (write %% for a percent sign)",
                "img", "poke-raw", "0", "%d");
        });
        Assert.That(Bytes("img"), Is.EqualTo(before), "failed commands change nothing");
    }

    [Test]
    public void Unknown_header_field_lists_the_known_ones()
    {
        CreateWritten();
        var r = Mk("img", "peek", "header.nope");
        Assert.That(r.Err, Does.StartWith("mkimage: header.nope: unknown header field 'nope' (known: magic, version,"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
    }

    [Test]
    public void Unallocated_l1_entry_is_reported()
    {
        Create("img", "64M");
        MkFails("mkimage: l2[0][0]: L1 entry 0 is unallocated", "img", "poke", "l2[0][0]", "1");
    }

    [Test]
    public void Table_beyond_the_end_of_the_file_is_reported()
    {
        CreateWritten();
        MkOk("img", "poke", "l1[0]", "0x80000000");
        MkFails("mkimage: l2[0][0]: offset 0x80000000 lies beyond the end of the file (size 0x70000)", "img", "peek", "l2[0][0]");
    }

    [Test]
    public void Hostile_cluster_bits_is_reported_instead_of_sizing_tables()
    {
        CreateWritten();
        MkOk("img", "poke", "header.cluster_bits", "40");
        MkFails("mkimage: l2[0][0]: cluster_bits 40 is outside 9..21; cannot locate the table", "img", "peek", "l2[0][0]");
    }

    [Test]
    public void Hostile_refcount_order_is_reported()
    {
        CreateWritten();
        MkOk("img", "poke", "header.refcount_order", "7");
        MkFails("mkimage: refcount_block[0][0]: refcount_order 7 is not supported (at most 6)", "img", "peek", "refcount_block[0][0]");
    }
}
