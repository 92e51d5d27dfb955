/**
 * A labelled set for the `auto` router: conversations and the model that should answer them —
 * "zh" (the Chinese model) when the user writes in Chinese, "en" otherwise — in six groups: short
 * and long English, short and long Chinese, mixed (Chinese with English terms, English quoting
 * Chinese) and code (bare, with an English question, with a Chinese question). The label is the
 * language a person would answer in, written down without running the router; the hard cases
 * (code under a Chinese question, a Chinese sentence full of English product names) are there on
 * purpose.
 */
export type RoutingGroup = "short en" | "long en" | "short zh" | "long zh" | "mixed" | "code";
export interface RoutingItem {
  group: RoutingGroup;
  text: string;
  expected: "en" | "zh";
}

const SHORT_EN = [
  "Hi!",
  "Hello there",
  "Thanks",
  "What time is it in Tokyo?",
  "Tell me a joke.",
  "How are you today?",
  "Translate 'good morning' into French.",
  "Is it going to rain tomorrow?",
  "Define entropy.",
  "Who wrote Hamlet?",
  "Summarize this in one line.",
  "What is 17 times 23?",
  "Recommend a good sci-fi book.",
  "Explain recursion simply.",
  "Write a haiku about autumn.",
  "What's the capital of Australia?",
  "How many legs does a spider have?",
  "Can you help me with my resume?",
  "Give me three dinner ideas.",
  "Why is the sky blue?",
  "ok",
  "yes please",
  "Continue.",
  "Shorter, please.",
  "What does GDP stand for?",
  "How do I boil an egg?",
  "Name five prime numbers.",
  "Is coffee bad for you?",
  "Plan a weekend in Lisbon.",
  "What is a black hole?",
  "Fix my grammar: me and him goes to school.",
  "What's the difference between weather and climate?",
  "Convert 5 miles to kilometers.",
  "Who painted the Mona Lisa?",
  "Suggest a name for my cat.",
  "How long should I sleep?",
  "Describe a sunset in two sentences.",
  "What is machine learning?",
  "Rewrite this more politely: send it now.",
  "When did the Berlin Wall fall?",
];

const EN_SENTENCES = [
  "I am preparing a presentation for my team about last quarter's sales results.",
  "The numbers went up in the north but fell sharply in the south, and nobody is sure why.",
  "Could you suggest a structure for the talk and a few questions the audience might ask?",
  "We moved to a new city last month and the children are still settling in at school.",
  "My daughter loves drawing, so I am looking for an art class that meets on weekends.",
  "The landlord says the heating will be fixed next week, but it has been broken since October.",
  "I would like to write a polite but firm email asking for a date.",
  "Our startup builds tools that help small farms track water use across their fields.",
  "Investors keep asking how we will reach larger customers without raising prices.",
  "Please list the strongest arguments on both sides and tell me which you find more convincing.",
  "Last night I read a long article about the history of the printing press in Europe.",
  "It claimed that cheap books changed politics more than any war of the period.",
  "Is that a fair reading of the evidence, or is it an exaggeration?",
];

const SHORT_ZH = [
  "你好",
  "谢谢你",
  "在吗？",
  "今天天气怎么样？",
  "给我讲个笑话。",
  "北京现在几点？",
  "帮我写一首关于秋天的诗。",
  "什么是黑洞？",
  "推荐一本好看的小说。",
  "怎么煮鸡蛋？",
  "蜘蛛有几条腿？",
  "请解释一下递归。",
  "澳大利亚的首都是哪里？",
  "晚饭吃什么好？",
  "继续。",
  "再短一点。",
  "好的，谢谢！",
  "十七乘以二十三等于多少？",
  "天空为什么是蓝色的？",
  "帮我改一下简历。",
  "咖啡对身体有害吗？",
  "给我的猫起个名字。",
  "每天应该睡多久？",
  "什么是机器学习？",
  "柏林墙是哪一年倒的？",
  "这句话是什么意思？",
  "帮我翻译成英文：早上好。",
  "周末去杭州玩什么？",
  "怎么学好数学？",
  "写一段生日祝福。",
  "我有点头疼，怎么办？",
  "明天会下雨吗？",
  "介绍一下长城。",
  "失眠怎么办？",
  "请总结一下这篇文章。",
  "如何提高英语口语？",
  "是的",
  "不对，重新回答。",
  "你是谁？",
  "讲讲中国的四大发明。",
];

const ZH_SENTENCES = [
  "我下周要在公司做一个关于上季度销售情况的汇报。",
  "北方的销售额上升了，但南方下降得很厉害，大家都不清楚原因。",
  "你能帮我安排一下汇报的结构，并想几个听众可能会问的问题吗？",
  "我们上个月搬到了一个新城市，孩子们还在适应新的学校。",
  "我女儿很喜欢画画，所以我想找一个周末上课的美术班。",
  "房东说暖气下周会修好，可是从十月份开始就一直坏着。",
  "我想写一封礼貌但态度坚定的邮件，请对方给出一个确定的日期。",
  "我们的创业公司在做帮助小农场记录用水情况的工具。",
  "投资人一直在问，我们怎样在不涨价的情况下拿到更大的客户。",
  "请列出双方最有力的论点，并告诉我你觉得哪一方更有说服力。",
  "昨天晚上我读了一篇关于欧洲印刷术历史的长文章。",
  "文章认为，便宜的书籍对政治的影响比那个时代的任何战争都大。",
  "这种说法符合史实吗，还是有些夸大了？",
];

/** [text, expected]: written by hand; the label is the language the user writes in. */
const MIXED: [string, "en" | "zh"][] = [
  ["帮我解释一下 React hooks 的用法", "zh"],
  ["用 Python 怎么读取一个 CSV 文件？", "zh"],
  ["我的 iPhone 连不上 Wi-Fi 了，怎么办？", "zh"],
  ["请比较一下 PostgreSQL 和 MySQL 的优缺点。", "zh"],
  ["Docker 和虚拟机有什么区别？", "zh"],
  ["我在 GitHub 上提交代码的时候出现了 permission denied 错误", "zh"],
  ["怎么在 Excel 里做数据透视表？", "zh"],
  ["推荐几个学习 machine learning 的中文资源", "zh"],
  ["这个 API 返回 500 是什么原因？", "zh"],
  ["帮我把这段话翻译成英文：我们明天开会。", "zh"],
  ["Kubernetes 的 Pod 和 Deployment 是什么关系？", "zh"],
  ["我想买一台 MacBook Pro，M3 还是 M4 好？", "zh"],
  ["请解释 TCP 三次握手。", "zh"],
  ["用 Java 写一个单例模式", "zh"],
  ["微信小程序怎么调用 REST API？", "zh"],
  ["Git rebase 和 merge 该用哪个？", "zh"],
  ["给我讲讲 Transformer 里的 attention 机制", "zh"],
  ["Linux 下怎么查看端口占用？", "zh"],
  ["ChatGPT 和 Claude 有什么不同？", "zh"],
  ["我的 Node.js 服务内存一直在涨", "zh"],
  ["How do you say 'thank you' in Chinese? Is it 谢谢?", "en"],
  ["What does 你好 mean?", "en"],
  ["My friend wrote 加油 on my card, what does that mean?", "en"],
  ["Is 北京 pronounced Beijing or Peking?", "en"],
  ["Explain the difference between 的, 地 and 得 in English please.", "en"],
  ["Write a short story about a dragon named 小龙 who lives in the mountains.", "en"],
  ["The restaurant sign said 营业中, does that mean it is open?", "en"],
  ["Can you teach me how to write the character 爱?", "en"],
  ["I'm learning Mandarin; what are the four tones of ma: 妈 麻 马 骂?", "en"],
  ["What is the meaning of the idiom 画蛇添足 and when would I use it?", "en"],
  ["Please proofread my email to our Shanghai office about the Q3 budget.", "en"],
  ["Our product is called 星光 in China; suggest an English brand name.", "en"],
  ["Tell me about the history of Tokyo and Kyoto.", "en"],
  ["What's the best dim sum in Hong Kong?", "en"],
  ["How is Chinese New Year celebrated?", "en"],
  ["请用英文回答：what is the capital of Canada?", "zh"],
  ["这个单词 serendipity 是什么意思？", "zh"],
  ["帮我检查一下这句英文有没有语法错误：He go to school every day.", "zh"],
  ["Please answer in Chinese: 什么是量子计算？", "en"],
  ["Summarize: 今天开会讨论了预算和招聘计划。", "en"],
];

const CODE_SNIPPETS = [
  "function add(a, b) {\n  return a + b;\n}",
  "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)",
  "SELECT name, COUNT(*) FROM orders GROUP BY name HAVING COUNT(*) > 3;",
  "for (let i = 0; i < items.length; i++) {\n  console.log(items[i].price * quantity);\n}",
  "const [state, setState] = useState(0);\nuseEffect(() => { fetchData().then(setState); }, []);",
  'public class Main {\n  public static void main(String[] args) {\n    System.out.println("hi");\n  }\n}',
  'fn main() {\n    let v: Vec<i32> = (1..10).map(|x| x * x).collect();\n    println!("{:?}", v);\n}',
  "import numpy as np\nx = np.linspace(0, 1, 100)\ny = np.sin(x) ** 2",
  "git checkout -b feature/login && git push origin feature/login",
  "docker run -p 8080:80 -v $(pwd):/app nginx:latest",
];

const CODE_EN_QUESTIONS = [
  "Why does this code throw an error?",
  "Can you make this faster?",
  "Add comments to this code.",
  "What does this do?",
  "Convert this to TypeScript.",
];

const CODE_ZH_QUESTIONS = [
  "这段代码为什么报错？",
  "能帮我优化一下这段代码吗？",
  "请给这段代码加上注释。",
  "这段代码是做什么的？",
  "把它改写成 TypeScript。",
];

/** The set: 40 + 30 + 40 + 30 + 40 + 40 = 220 items, deterministic. */
export function routingSet(): RoutingItem[] {
  const items: RoutingItem[] = [];
  for (const text of SHORT_EN) items.push({ group: "short en", text, expected: "en" });
  for (const text of SHORT_ZH) items.push({ group: "short zh", text, expected: "zh" });
  // Long: 3 to 7 sentences from the pool, in a rotating order, 30 of each language.
  for (let i = 0; i < 30; i++) {
    const n = 3 + (i % 5);
    const pick = (pool: string[]) =>
      Array.from({ length: n }, (_, k) => pool[(i * 5 + k * 3) % pool.length] as string);
    items.push({ group: "long en", text: pick(EN_SENTENCES).join(" "), expected: "en" });
    items.push({ group: "long zh", text: pick(ZH_SENTENCES).join(""), expected: "zh" });
  }
  for (const [text, expected] of MIXED) items.push({ group: "mixed", text, expected });
  // Code: 10 bare snippets (en), 15 under an English question, 15 under a Chinese one.
  CODE_SNIPPETS.forEach((code, i) => {
    items.push({ group: "code", text: code, expected: "en" });
    const en = CODE_EN_QUESTIONS[i % CODE_EN_QUESTIONS.length] as string;
    items.push({ group: "code", text: `${en}\n\n${code}`, expected: "en" });
    const zh = CODE_ZH_QUESTIONS[i % CODE_ZH_QUESTIONS.length] as string;
    items.push({ group: "code", text: `${zh}\n\n${code}`, expected: "zh" });
  });
  // Five more of each question kind over the first snippets, in the other order (code first).
  for (let i = 0; i < 5; i++) {
    const code = CODE_SNIPPETS[i] as string;
    items.push({ group: "code", text: `${code}\n\n${CODE_EN_QUESTIONS[(i + 2) % 5]}`, expected: "en" });
    items.push({ group: "code", text: `${code}\n\n${CODE_ZH_QUESTIONS[(i + 2) % 5]}`, expected: "zh" });
  }
  return items;
}
