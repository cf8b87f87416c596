namespace Qcow2.Compression;

/// <summary>
/// A few threads that compress clusters for one writer (qcow2_co_compress's thread pool): jobs are started in guest
/// order, each thread takes the oldest, and the writer waits for the job it writes next. Idle threads and the waiting
/// writer block on a monitor instead of spinning, which the thread pool and Task waits do, so that on a machine whose
/// cores are busy the waiting costs nothing.
/// </summary>
public sealed class PackWorkers : IDisposable
{
    /// <summary>One cluster being compressed.</summary>
    public sealed class Job
    {
        internal Job(Func<PackedCluster> work) => Work = work;

        internal Func<PackedCluster> Work { get; }

        internal PackedCluster Result { get; set; }

        internal Exception? Error { get; set; }

        internal bool Done { get; set; }
    }

    private readonly object _lock = new();
    private readonly Queue<Job> _queue = new();
    private bool _stopping;

    /// <summary>Starts threads worker threads (at least one); they end when the workers are disposed.</summary>
    public PackWorkers(int threads)
    {
        for (int i = 0; i < Math.Max(1, threads); i++)
        {
            new Thread(Body) { IsBackground = true, Name = "qcow2 compress" }.Start();
        }
    }

    /// <summary>How many threads a writer with inFlight clusters in flight uses: one per processor, at most one per cluster.</summary>
    public static int ThreadsFor(int inFlight) => Math.Clamp(inFlight, 1, Environment.ProcessorCount);

    /// <summary>Queues the compression of one cluster.</summary>
    public Job Start(Func<PackedCluster> work)
    {
        var job = new Job(work);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _queue.Enqueue(job);
            Monitor.PulseAll(_lock);
        }
        return job;
    }

    /// <summary>Blocks until the job is done; returns its cluster or throws what the compression threw.</summary>
    public PackedCluster Wait(Job job)
    {
        lock (_lock)
        {
            while (!job.Done)
            {
                Monitor.Wait(_lock);
            }
        }
        if (job.Error is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(job.Error);
        }
        return job.Result;
    }

    /// <summary>Lets the threads end once the queued jobs are done.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
    }

    private void Body()
    {
        for (;;)
        {
            Job job;
            lock (_lock)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_lock);
                }
                if (_queue.Count == 0)
                {
                    return;
                }
                job = _queue.Dequeue();
            }
            try
            {
                job.Result = job.Work();
            }
            catch (Exception e)
            {
                job.Error = e;
            }
            lock (_lock)
            {
                job.Done = true;
                Monitor.PulseAll(_lock);
            }
        }
    }
}
