package io.rund;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rund.cgroup.CgroupManager;
import io.rund.job.IdentitySettings;
import io.rund.job.JobIdentities;
import io.rund.job.JobRecord;
import io.rund.job.JobRecords;
import io.rund.job.JobRegistry;
import io.rund.job.JobSettings;
import io.rund.job.OpenFileBudget;
import io.rund.job.RecordSettings;
import io.rund.job.StateDirectory;
import io.rund.linux.AccountIds;
import io.rund.linux.ExitWatcher;
import io.rund.linux.Fds;
import io.rund.linux.Keeper;
import io.rund.linux.KeptJob;
import io.rund.linux.LinuxException;
import io.rund.linux.ProcessExit;
import io.rund.linux.OutputPump;
import io.rund.linux.ResourceLimits;
import io.rund.logs.LogSettings;
import io.rund.logs.LogSpace;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * The running engine: state directory (job records restored from it), cgroup subtree, the connection to rund-keeper (which spawns the jobs and
 * outlives this process), the exit-watcher and output-pump threads, and the actor system with the job registry.
 * Start-up sweeps cgroups left by a crashed predecessor, sparing the jobs the keeper still holds; shutdown (SIGTERM,
 * SIGINT or {@link #shutdown()}) stops every job (grace, then kill), lets their logs be sealed, lets the keeper exit,
 * removes rund's cgroups and only then lets the process exit, with status 0 — unless rund.jobs.on-daemon-exit is
 * "keep": then the jobs go on running with the keeper, for the next daemon. A job registry that ends while the daemon
 * runs (a bug) starts that shutdown by itself and leaves the jobs to the keeper in either mode ({@link Guardian}).
 * {@link Rund} composes this engine with the API.
 */
public final class Daemon {

    private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);
    /** Added to the stop grace period for the kill, the last output and the cgroup removal. */
    private static final Duration SHUTDOWN_MARGIN = Duration.ofSeconds(20);
    /** How long shutdown waits, after every job has ended, for their homes and residue to be removed (within the
     *  default 5 s of its shutdown phase). */
    private static final Duration IDENTITY_RELEASE_TIMEOUT = Duration.ofSeconds(4);
    /** How long shutdown waits for the keeper to exit once every job has ended and been released. */
    private static final Duration KEEPER_EXIT_TIMEOUT = Duration.ofSeconds(10);

    private final ActorSystem<Void> system;
    private final ActorRef<JobRegistry.Command> registry;
    private final JobSettings settings;
    private final LogSpace logs;
    /** Completed with how the registry ended if it ended while the daemon ran (see {@link Guardian}). */
    private final CompletableFuture<String> registryEnded;

    private Daemon(ActorSystem<Void> system, ActorRef<JobRegistry.Command> registry, JobSettings settings, LogSpace logs,
                   CompletableFuture<String> registryEnded) {
        this.system = system;
        this.registry = registry;
        this.settings = settings;
        this.logs = logs;
        this.registryEnded = registryEnded;
    }

    public static Daemon start(Config config) throws IOException {
        long openFiles = ResourceLimits.raiseOpenFilesToHard();
        LOG.info("Open-file limit raised to {}", openFiles);
        Config rund = config.getConfig("rund");
        JobSettings settings = withinOpenFileLimit(JobSettings.fromConfig(rund), openFiles);
        LogSpace logs = LogSpace.create(LogSettings.fromConfig(rund.getConfig("logs")));
        StateDirectory.prepare(settings.stateDirectory());
        String root = rund.getString("cgroup.root");
        CgroupManager cgroups = CgroupManager.open(root.isEmpty() ? Optional.empty() : Optional.of(Path.of(root)));
        Keeper keeper = Keeper.connectOrStart(new Keeper.Location(settings.stateDirectory(), cgroups.keeperLeaf()));
        Map<String, KeptJob> held = new TreeMap<>();
        keeper.held().forEach(job -> held.put(job.jobId(), job));
        JobRecords records = JobRecords.open(settings.stateDirectory(), RecordSettings.fromConfig(rund));
        JobRecords.Restored restored = records.restore(Instant.now(), held.keySet());
        List<JobRegistry.Adoption> adoptions = new ArrayList<>();
        for (JobRecord record : restored.running()) {
            KeptJob kept = held.remove(record.id());
            adoptions.add(new JobRegistry.Adoption(record, kept));
            if (kept.exit().isEmpty()) {
                keeper.track(kept); // its exit, when the keeper reports it, reaches the exit watcher
            }
        }
        Set<String> adopted = adoptions.stream().map(adoption -> adoption.record().id()).collect(Collectors.toSet());
        Set<String> unread = leaveUnreadable(records, restored, held); // spared like adopted jobs, but not served
        letGo(keeper, held.values()); // held by the keeper, but ended and recorded already, or with no record at all
        Set<String> spared = new java.util.HashSet<>(adopted);
        spared.addAll(unread);
        for (String orphan : cgroups.removeOrphans(spared)) {
            LOG.warn("Removed cgroup {} left by an earlier rund, and killed what ran in it", orphan);
        }
        io.rund.resctrl.RdtGroups rdt = io.rund.resctrl.RdtGroups.ofThisHost(); // read once, for this pass and the jobs
        removeRdtOrphans(rdt, spared);
        Path logDirectory = StateDirectory.logs(settings.stateDirectory());
        // The logs of jobs known again from their records (finished or adopted) are theirs, not spare earlier files
        // that the cap may delete while the record lives.
        Set<Path> jobLogs = new java.util.HashSet<>();
        restored.ended().forEach(record -> jobLogs.add(StateDirectory.logOf(logDirectory, record.id())));
        spared.forEach(id -> jobLogs.add(StateDirectory.logOf(logDirectory, id)));
        long earlierBytes = logs.countEarlierFiles(logDirectory, jobLogs);
        LOG.info("Logs of earlier runs in {} take {} bytes, and the logs of the {} jobs known from their records {}"
                        + " bytes, counted against rund.logs.max-total-bytes = {}", logDirectory, earlierBytes,
                jobLogs.size(), logs.jobFileBytes(), logs.settings().maxTotalBytes());
        JobIdentities identities = JobIdentities.open(IdentitySettings.fromConfig(rund), AccountIds.system(), spared);
        if (settings.defaultUser().isEmpty()) {
            LOG.info("Jobs that name no account run as a user of their own: ids {}-{}, homes in {}",
                    identities.settings().firstId(), identities.settings().lastId(), identities.settings().homeRoot());
            if (identities.settings().size() < settings.maxActiveJobs()) {
                LOG.warn("rund.jobs.identities holds {} ids but rund.jobs.max-active is {}: starts beyond {} running"
                        + " jobs are refused (RESOURCE_EXHAUSTED); widen the range", identities.settings().size(),
                        settings.maxActiveJobs(), identities.settings().size());
            }
        }
        LOG.info("Jobs run in cgroups under {} with controllers {}", cgroups.subtree(), cgroups.availableControllers());

        ExitWatcher exits = new ExitWatcher(io.rund.job.LiveEventSettings.fromConfig(rund).maxFileWatches());
        LOG.info("Live OOM-kill and pids.max events: at most {} cgroup files watched at once (rund.events.max-file-watches,"
                + " or {} if lower)", exits.cgroupFiles().maxWatches(), io.rund.linux.CgroupFileWatcher.MAX_USER_WATCHES);
        exits.attach(keeper);
        OutputPump output = new OutputPump();
        Duration stopAllTimeout = settings.stopGracePeriod().plus(SHUTDOWN_MARGIN);
        Config withShutdownTimeout = ConfigFactory.parseString(
                "pekko.coordinated-shutdown.phases.service-stop.timeout = " + stopAllTimeout.toMillis() + "ms")
                .withFallback(config);
        CompletableFuture<ActorRef<JobRegistry.Command>> registry = new CompletableFuture<>();
        CompletableFuture<String> registryEnded = new CompletableFuture<>();
        ActorSystem<Void> system = ActorSystem.create(
                Guardian.create(settings, cgroups, exits, output, logs, identities, keeper, records, rdt,
                        restored.ended(), adoptions, registry, registryEnded),
                "rund", withShutdownTimeout);
        Daemon daemon = new Daemon(system, registry.join(), settings, logs, registryEnded);

        CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
        // Read when each task runs: a registry that ended took its jobs' actors with it, so nothing can stop them as
        // on SIGTERM; their processes are left with the keeper, as under keep mode, for the next daemon to adopt.
        BooleanSupplier keepJobs = () ->
                settings.onDaemonExit() == JobSettings.OnDaemonExit.KEEP || registryEnded.isDone();
        shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "stop-all-jobs", () -> keepJobs.getAsBoolean()
                ? CompletableFuture.completedFuture(Done.getInstance())
                : AskPattern.<JobRegistry.Command, JobRegistry.AllStopped>ask(daemon.registry, JobRegistry.StopAll::new,
                                stopAllTimeout, system.scheduler())
                        .thenApply(stopped -> {
                            LOG.info("Stopped {} running jobs", stopped.jobsStopped());
                            return Done.getInstance();
                        })
                        .toCompletableFuture()
                        .applyToEither(registryEnded.thenApply(how -> Done.getInstance()), done -> done));
        shutdown.addTask(CoordinatedShutdown.PhaseBeforeClusterShutdown(), "release-job-identities", () -> keepJobs.getAsBoolean()
                ? CompletableFuture.completedFuture(Done.getInstance()) // kept jobs keep their users; the next daemon adopts them
                : identities.whenAllReleased()
                        .orTimeout(IDENTITY_RELEASE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                        .handle((done, timedOut) -> {
                            if (timedOut != null) {
                                LOG.warn("{} job identities not released within {}; the next rund removes their homes",
                                        identities.held(), IDENTITY_RELEASE_TIMEOUT);
                            }
                            return Done.getInstance();
                        }));
        shutdown.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "release-host-resources", () -> {
            records.close(); // every job has ended: their final records are written and forced
            output.close();
            exits.close();
            if (keepJobs.getAsBoolean()) {
                LOG.info("{}: leaving the running jobs with rund-keeper (pid {}) for the next daemon",
                        registryEnded.isDone() ? "The job registry ended" : "rund.jobs.on-daemon-exit = keep",
                        keeper.keeperPid());
                keeper.close();
                return CompletableFuture.completedFuture(Done.getInstance());
            }
            stopKeeper(keeper);
            try {
                cgroups.close();
            } catch (IOException e) {
                LOG.error("Cannot remove rund's cgroup subtree: {}", e.getMessage());
            }
            return CompletableFuture.completedFuture(Done.getInstance());
        });
        return daemon;
    }

    /**
     * Jobs the keeper held that are not adopted: ended and recorded already (a daemon died between writing the final
     * record and releasing the job), or named by no record (it cannot be served: its cgroup is swept, which kills it).
     * Our copies of their descriptors are closed and the keeper lets them go.
     */
    private static void letGo(Keeper keeper, Collection<KeptJob> jobs) {
        for (KeptJob job : jobs) {
            if (job.exit().isEmpty()) {
                LOG.warn("Job {} (pid {}) is held by rund-keeper but has no record of a running job; it is killed",
                        job.jobId(), job.pid());
            }
            closeOurCopies(job);
            keeper.release(job.jobId());
        }
    }

    /** Closes this daemon's copies of a kept job's pidfd and pipes (the keeper keeps its own). */
    private static void closeOurCopies(KeptJob job) {
        for (int fd : new int[] {job.pidfd(), job.stdoutFd(), job.stderrFd()}) {
            try {
                Fds.close(fd);
            } catch (LinuxException e) {
                LOG.warn("Cannot close fd {} of kept job {}: {}", fd, job.jobId(), e.getMessage());
            }
        }
    }

    /**
     * Takes out of {@code held} the jobs the keeper holds whose record exists but could not be read (of a newer format,
     * say, written by a newer rund before a downgrade; each was reported in one line): they are neither adopted nor
     * killed, their cgroup, home and log stay, and the keeper keeps them for a rund that reads their record.
     */
    private static Set<String> leaveUnreadable(JobRecords records, JobRecords.Restored restored, Map<String, KeptJob> held) {
        Set<String> recorded = restored.ended().stream().map(JobRecord::id).collect(Collectors.toSet());
        Set<String> unreadable = new TreeSet<>();
        for (KeptJob job : List.copyOf(held.values())) {
            if (!recorded.contains(job.jobId()) && java.nio.file.Files.exists(records.fileOf(job.jobId()))) {
                LOG.warn("Job {} (pid {}) is held by rund-keeper but its record {} cannot be read (see above): left"
                        + " running with the keeper, not served; a rund that reads the record adopts it", job.jobId(),
                        job.pid(), records.fileOf(job.jobId()));
                unreadable.add(job.jobId());
                held.remove(job.jobId());
                closeOurCopies(job);
            }
        }
        return unreadable;
    }

    /** Lets the keeper exit once it holds no job; it cannot while jobs of an earlier daemon, not adopted, remain. */
    private static void stopKeeper(Keeper keeper) {
        try {
            if (!keeper.shutdownAndAwaitExit(KEEPER_EXIT_TIMEOUT)) {
                LOG.warn("rund-keeper (pid {}) still runs {} after every job of this daemon ended: jobs of an earlier"
                        + " daemon, not adopted, keep it running", keeper.keeperPid(), KEEPER_EXIT_TIMEOUT);
            }
        } catch (IOException e) {
            LOG.warn("Cannot ask rund-keeper (pid {}) to exit: {}", keeper.keeperPid(), e.getMessage());
            keeper.close();
        }
    }

    /** rund.jobs.max-active, lowered to what the open-file limit can hold (with a warning saying so). */
    static JobSettings withinOpenFileLimit(JobSettings settings, long openFileLimit) {
        int fitting = OpenFileBudget.jobsFitting(openFileLimit);
        if (settings.maxActiveJobs() <= fitting) {
            return settings;
        }
        LOG.warn("rund.jobs.max-active is {}, but the open-file limit {} holds only {} jobs ({} descriptors each: pidfd, "
                        + "stdout and stderr pipes; {} for the log files being written; {} kept for rund itself): accepting "
                        + "at most {} at once. Raise the limit (for example LimitNOFILE in a systemd unit) to run more.",
                settings.maxActiveJobs(), openFileLimit, fitting, OpenFileBudget.FILES_PER_JOB, OpenFileBudget.LOG_WRITER_FILES,
                OpenFileBudget.RESERVED_FILES, fitting);
        return settings.withMaxActiveJobs(fitting);
    }

    public ActorSystem<Void> system() {
        return system;
    }

    public ActorRef<JobRegistry.Command> registry() {
        return registry;
    }

    /**
     * How the job registry ended, if it ended while the daemon ran (a bug: the daemon then shuts down by itself, leaving
     * its running jobs to the keeper, and rund serve exits with failure); empty while it runs or after an ordinary stop.
     */
    public Optional<String> registryFailure() {
        return Optional.ofNullable(registryEnded.getNow(null));
    }

    public JobSettings settings() {
        return settings;
    }

    /** The space all job logs share: their caps, retained bytes and follower counts. */
    public LogSpace logs() {
        return logs;
    }

    /** SIGTERM and SIGINT run the orderly shutdown instead of the JVM's default exit with status 143. */
    public void stopOnSignals() {
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> {
                LOG.info("Received SIG{}: stopping every job", name);
                shutdown();
            });
        }
    }

    /** Runs the coordinated shutdown; completes when every job has ended and the actor system has terminated. */
    public CompletableFuture<Done> shutdown() {
        return CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason()).toCompletableFuture();
    }

    public void awaitTermination() throws Exception {
        system.getWhenTerminated().toCompletableFuture().get(Long.MAX_VALUE, TimeUnit.DAYS);
    }

    /**
     * Removes the resctrl groups of jobs that ended while no daemon ran (their tasks file is empty); groups of jobs
     * this daemon adopts stay, and a group that still lists tasks is left and named (another rund's, perhaps).
     */
    private static void removeRdtOrphans(io.rund.resctrl.RdtGroups rdt, Set<String> spared) {
        try {
            io.rund.resctrl.RdtGroups.Orphans orphans = rdt.removeOrphans(spared);
            orphans.removed().forEach(group -> LOG.warn("Removed resctrl group {} left by a job that ended while no"
                    + " rund ran", group));
            orphans.stillInUse().forEach(group -> LOG.warn("resctrl group {} names no job of this rund but still has"
                    + " tasks: left as it is", group));
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot look for resctrl groups left by earlier jobs: {}", e.getMessage());
        }
    }
}
