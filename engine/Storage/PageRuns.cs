namespace Qcow2.Storage;

/// <summary>A set of page numbers kept as sorted, disjoint, non-adjacent runs [start, end).</summary>
internal sealed class PageRuns
{
    private readonly List<(long Start, long End)> _runs = [];

    /// <summary>Adds the pages [start, end), merging with the runs it touches.</summary>
    public void Add(long start, long end)
    {
        if (start >= end)
        {
            return;
        }
        // The first run that ends at or after start can merge with the new one; so can every later run starting at or before end.
        int i = FirstEndingAtOrAfter(start);
        int j = i;
        while (j < _runs.Count && _runs[j].Start <= end)
        {
            start = Math.Min(start, _runs[j].Start);
            end = Math.Max(end, _runs[j].End);
            j++;
        }
        _runs.RemoveRange(i, j - i);
        _runs.Insert(i, (start, end));
    }

    /// <summary>Whether the page is in a run.</summary>
    public bool Contains(long page)
    {
        int i = FirstEndingAtOrAfter(page + 1);
        return i < _runs.Count && _runs[i].Start <= page;
    }

    /// <summary>The index of the first run whose end is at or after value (the count when there is none).</summary>
    private int FirstEndingAtOrAfter(long value)
    {
        int lo = 0, hi = _runs.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_runs[mid].End < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
