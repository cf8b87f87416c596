using static Qcow2.Harness.Tokenizer;

namespace Qcow2.Harness;

/// <summary>
/// Parses a script body into statements: a recursive-descent parser for the POSIX shell grammar's subset
/// (lists, <c>&amp;&amp;</c>/<c>||</c>, pipelines into filters, <c>for</c>, <c>while</c>/<c>until</c>,
/// <c>if</c>, <c>{ }</c>, <c>(( ))</c>, functions and <c>. FILE</c>).
/// </summary>
internal sealed class ScriptParser
{
    private static readonly HashSet<string> Reserved =
        ["for", "in", "do", "done", "while", "until", "if", "then", "elif", "else", "fi", "{", "}", "!"];

    private readonly List<Token> _tokens;
    private readonly string _file;
    private readonly string _dir;
    private readonly int _depth;
    private int _pos;

    private ScriptParser(List<Token> tokens, string file, string dir, int depth)
    {
        _tokens = tokens;
        _file = file;
        _dir = dir;
        _depth = depth;
    }

    /// <summary>Parses text (shown as file in errors); <c>. FILE</c> reads FILE relative to dir.</summary>
    public static List<Statement> Parse(string text, string file, string dir) => Parse(text, file, dir, 0);

    private static List<Statement> Parse(string text, string file, string dir, int depth)
    {
        var parser = new ScriptParser(TokenizeScript(text, file), file, dir, depth);
        var body = parser.ParseList(1);
        if (parser.Peek() is { } t)
        {
            throw parser.Error(t, $"unexpected '{Describe(t)}'");
        }

        return [.. body.Statements];
    }

    private Token? Peek(int ahead = 0) => _pos + ahead < _tokens.Count ? _tokens[_pos + ahead] : null;

    private int LineHere => Peek()?.Line ?? (_tokens.Count > 0 ? _tokens[^1].Line : 1);

    private ScriptException Error(Token? t, string message) => new(_file, t?.Line ?? LineHere, message);

    private static string Describe(Token t) => t switch
    {
        WordToken w => w.Raw,
        OpToken { Op: "\n" } => "newline",
        OpToken o => o.Op,
        ArithToken => "((",
        _ => "redirection",
    };

    private bool IsOp(string op, int ahead = 0) => Peek(ahead) is OpToken o && o.Op == op;

    private bool IsWord(string raw) => Peek() is WordToken w && w.Raw == raw;

    private void SkipNewlines()
    {
        while (IsOp("\n"))
        {
            _pos++;
        }
    }

    private void Expect(string word)
    {
        SkipNewlines();
        if (!IsWord(word))
        {
            var t = Peek();
            throw Error(t, t is null ? $"missing '{word}'" : $"expected '{word}', found '{Describe(t)}'");
        }

        _pos++;
    }

    /// <summary>Statements up to one of the stop words (not consumed) or the end.</summary>
    private Block ParseList(int line, params string[] stops)
    {
        var statements = new List<Statement>();
        while (true)
        {
            SkipNewlines();
            var t = Peek();
            if (t is null)
            {
                if (stops.Length > 0)
                {
                    throw Error(null, $"missing '{stops[^1]}'");
                }

                break;
            }

            if (t is WordToken w && stops.Contains(w.Raw))
            {
                break;
            }

            if (t is WordToken { Raw: var r } && Reserved.Contains(r) && r is not ("!" or "{" or "for" or "while" or "until" or "if"))
            {
                throw Error(t, $"unexpected '{r}'");
            }

            statements.Add(ParseAndOr());
            if (IsOp(";") || IsOp("\n"))
            {
                _pos++;
            }
            else if (Peek() is { } after && !(after is WordToken aw && stops.Contains(aw.Raw)))
            {
                throw Error(after, $"unexpected '{Describe(after)}'");
            }
        }

        return new Block(line, statements);
    }

    private Statement ParseAndOr()
    {
        var first = ParsePipeline();
        var rest = new List<(bool, Statement)>();
        while (IsOp("&&") || IsOp("||"))
        {
            var and = IsOp("&&");
            _pos++;
            SkipNewlines();
            rest.Add((and, ParsePipeline()));
        }

        return rest.Count == 0 ? first : new AndOr(first.Line, first, rest);
    }

    private Statement ParsePipeline()
    {
        if (IsWord("!"))
        {
            var line = LineHere;
            _pos++;
            return new Not(line, ParsePipeline());
        }

        return ParseCommand();
    }

    private Statement ParseCommand()
    {
        var t = Peek() ?? throw Error(null, "missing command");
        var line = t.Line;
        Statement? compound = t switch
        {
            ArithToken a => Consume(new ArithCommand(line, a.Expression)),
            WordToken { Raw: "for" } => ParseFor(),
            WordToken { Raw: "while" or "until" } w => ParseWhile(w.Raw == "until"),
            WordToken { Raw: "if" } => ParseIf(),
            WordToken { Raw: "{" } => ParseGroup(),
            _ => null,
        };
        if (compound is not null)
        {
            return WithRedirects(compound);
        }

        if (IsOp("("))
        {
            throw Error(t, "subshells '( ... )' are not supported");
        }

        if (t is WordToken fn && IsOp("(", 1) && IsOp(")", 2))
        {
            if (!ScenarioParser.IsName(fn.Raw))
            {
                throw Error(t, $"'{fn.Raw}' is not a valid function name");
            }

            _pos += 3;
            SkipNewlines();
            if (!IsWord("{"))
            {
                throw Error(Peek(), "a function body must be a '{ ...; }' group");
            }

            return new FunctionDef(line, fn.Raw, WithRedirects(ParseGroup()));
        }

        return ParseSimplePipeline();
    }

    private Statement Consume(Statement s)
    {
        _pos++;
        return s;
    }

    private Statement WithRedirects(Statement compound)
    {
        var redirects = new List<Redirect>();
        while (Peek() is RedirectToken r)
        {
            redirects.Add(r.Redirect);
            _pos++;
        }

        if (Peek() is HeredocToken h || redirects.Any(r => r.Op == RedirectOp.Read))
        {
            throw Error(Peek(), "a here-document or '<' can only feed a simple command");
        }

        var filters = ParseFilters();
        return redirects.Count == 0 && filters.Count == 0 ? compound : new Redirected(compound.Line, compound, redirects, filters);
    }

    private Block ParseGroup()
    {
        var line = LineHere;
        Expect("{");
        var body = ParseList(line, "}");
        Expect("}");
        return body;
    }

    private ForLoop ParseFor()
    {
        var line = LineHere;
        _pos++;
        if (Peek() is not WordToken { Raw: var name } || !ScenarioParser.IsName(name))
        {
            throw Error(Peek(), "'for' needs a variable name");
        }

        _pos++;
        List<Word>? items = null;
        SkipNewlines();
        if (IsWord("in"))
        {
            _pos++;
            items = [];
            while (Peek() is WordToken w)
            {
                items.Add(new Word(w.Raw));
                _pos++;
            }

            if (!IsOp(";") && !IsOp("\n"))
            {
                throw Error(Peek(), "the word list of 'for' must end with ';' or a newline");
            }

            _pos++;
        }
        else if (IsOp(";"))
        {
            _pos++;
        }

        Expect("do");
        var body = ParseList(line, "done");
        Expect("done");
        return new ForLoop(line, name, items, body);
    }

    private WhileLoop ParseWhile(bool until)
    {
        var line = LineHere;
        _pos++;
        var condition = ParseList(line, "do");
        Expect("do");
        var body = ParseList(line, "done");
        Expect("done");
        return new WhileLoop(line, until, condition, body);
    }

    private IfChain ParseIf()
    {
        var line = LineHere;
        var branches = new List<(Block, Block)>();
        Block? otherwise = null;
        do
        {
            _pos++;
            var condition = ParseList(LineHere, "then");
            Expect("then");
            branches.Add((condition, ParseList(LineHere, "elif", "else", "fi")));
        }
        while (IsWord("elif"));

        if (IsWord("else"))
        {
            _pos++;
            otherwise = ParseList(LineHere, "fi");
        }

        Expect("fi");
        return new IfChain(line, branches, otherwise);
    }

    private Statement ParseSimplePipeline()
    {
        var first = ParseSimple();
        var commands = new List<SimpleCommand> { first };
        commands.AddRange(ParseFilters());
        var statement = ScenarioParser.MakeStatement(commands, _file);
        return statement is Pipeline { Commands: [{ Name: "." } dot] } ? Include(dot) : statement;
    }

    private List<SimpleCommand> ParseFilters()
    {
        var filters = new List<SimpleCommand>();
        while (IsOp("|"))
        {
            _pos++;
            SkipNewlines();
            var c = ParseSimple();
            if (!Filters.IsFilter(c.Name))
            {
                throw new ScriptException(_file, c.Line, $"'{c.Name}' is not a filter; after '|' use one of: {string.Join(", ", Filters.Names)}");
            }

            if (c.Redirects.Count > 0 || c.Stdin is not null)
            {
                throw new ScriptException(_file, c.Line, $"filter '{c.Name}' takes no redirections");
            }

            filters.Add(c);
        }

        return filters;
    }

    private SimpleCommand ParseSimple()
    {
        var cmd = new SimpleCommand(LineHere);
        while (true)
        {
            switch (Peek())
            {
                case WordToken w:
                    cmd.Words.Add(new Word(w.Raw));
                    break;
                case RedirectToken r:
                    cmd.Redirects.Add(r.Redirect);
                    break;
                case HeredocToken h:
                    cmd.Stdin = h.Doc;
                    break;
                default:
                    if (cmd.Words.Count == 0)
                    {
                        var t = Peek();
                        throw Error(t, t is null ? "missing command" : $"missing command before '{Describe(t)}'");
                    }

                    return cmd;
            }

            _pos++;
        }
    }

    /// <summary><c>. FILE</c>: FILE (a literal path, relative to the scenario's directory) is parsed now and run in place.</summary>
    private Source Include(SimpleCommand dot)
    {
        if (dot.Words.Count != 2 || dot.Redirects.Count > 0 || dot.Words[1].Raw.Contains('$', StringComparison.Ordinal))
        {
            throw new ScriptException(_file, dot.Line, "usage: . FILE (a literal path relative to tests/iotests)");
        }

        if (_depth >= 8)
        {
            throw new ScriptException(_file, dot.Line, "'.' nests too deeply");
        }

        var name = new Expander(_ => null).ExpandWord(dot.Words[1].Raw) ?? "";
        var path = Path.GetFullPath(name, _dir);
        if (!File.Exists(path))
        {
            throw new ScriptException(_file, dot.Line, $".: {name}: No such file or directory");
        }

        var body = Parse(File.ReadAllText(path), ScenarioParser.DisplayPath(path), Path.GetDirectoryName(path)!, _depth + 1);
        return new Source(dot.Line, ScenarioParser.DisplayPath(path), body);
    }
}
