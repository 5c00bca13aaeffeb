"""The hand-written evaluation questions over the bundled Wikipedia corpus (issue: adaptation that transfers).

Written by reading each article (none produced by a recipe), in question kinds the recipes do not make: who /
what / when / where / how many / which-of / yes-no / comparisons / later sentences, some paraphrased,
abbreviated or misspelt; two-hop questions need two articles (a bridge entity, or a comparison). Run this
script to check every answer against its article and to write corpora/data/wiki_handwritten.jsonl, split once
by article into dev-select (choose settings) and dev-test (report only).

    python scripts/handwritten_questions.py
"""

# (gold article, question, answers, kind); answers are checked to occur in the article unless kind is yes-no
SINGLE = [
    ("Opera", "In opera, who usually takes the dramatic roles?", ["singers"], "who"),
    ("Opera", "Since the early 19th century, who has led the orchestra at an opera performance?", ["a conductor", "conductor"], "later-sentence"),
    ("Jōmon period", "Roughly when did the Jomon period of Japan end?", ["300 BC"], "when-misspelt"),
    ("Jōmon period", "Into how many phases is the Jōmon civilization divided?", ["six"], "how-many"),
    ("Jōmon period", "Which Japonic-speaking people did the Jōmon eventually mix with?", ["Yayoi people", "Yayoi"], "later-sentence"),
    ("Madhvacharya", "Which school of Vedanta did Madhvacharya champion?", ["Dvaita", "dualism"], "what"),
    ("Madhvacharya", "Near which town on the Karnataka coast was Madhva born?", ["Udupi", "Pajaka"], "where"),
    ("Austin, Texas", "What was Austin's population at the 2020 census?", ["961,855"], "how-many"),
    ("Austin, Texas", "Austin is the county seat of which county?", ["Travis County", "Travis"], "later-sentence"),
    ("Austin, Texas", "On what date was Austin incorporated?", ["December 27, 1839"], "when"),
    ("Critical thinking", "Which philosopher is the phrase critical thinking traced to?", ["John Dewey", "Dewey"], "who"),
    ("Hermitage Museum", "In which city is the State Hermitage Museum?", ["Saint Petersburg"], "where"),
    ("Hermitage Museum", "Which empress founded the Hermitage collection in 1764?", ["Catherine the Great", "Catherine"], "who"),
    ("Hermitage Museum", "Since which year has the Hermitage been open to the public?", ["1852"], "when"),
    ("Procyon", "In which constellation is Procyon the brightest star?", ["Canis Minor"], "where"),
    ("Procyon", "How far away is the Procyon system, in light-years?", ["11.46"], "how-many"),
    ("Fairy tale", "To which genre of stories does a fairy tale belong?", ["folklore"], "what"),
    ("Sima Qian", "Sima Qian is called the father of the historiography of which country?", ["China", "Chinese"], "what"),
    ("Sima Qian", "What is the name of the general history written by Sima Qian?", ["Shiji"], "what"),
    ("Sima Qian", "During which dynasty did Sima Qian live?", ["Han dynasty", "Han"], "when"),
    ("Trust (law)", "In a trust, what is the party who entrusts the property called?", ["settlor"], "what"),
    ("Trust (law)", "What is the person for whose benefit a trust holds property called?", ["beneficiary"], "what"),
    ("Mango", "Which tropical tree produces the mango?", ["Mangifera indica"], "what"),
    ("Mango", "How many modern lineages of mango cultivars are there?", ["two"], "how-many"),
    ("Totalitarianism", "Totalitarianism is the extreme form of which kind of rule?", ["authoritarianism"], "what"),
    ("Male", "Which gamete does a male organism produce?", ["sperm"], "what"),
    ("Male", "Which chromosome do most male mammals have?", ["Y chromosome", "Y"], "later-sentence"),
    ("Ayurveda", "In which two countries is ayurveda heavily practised?", ["India and Nepal"], "where"),
    ("Ayurveda", "Is ayurveda considered scientific?", ["no"], "yes-no"),
    ("Ayurveda", "Which toxic metals are found in many rasashastra preparations?", ["lead, mercury, and arsenic", "lead", "mercury"], "later-sentence"),
    ("Yosemite National Park", "In which US state is Yosemite NP?", ["California"], "where-abbreviated"),
    ("Yosemite National Park", "In what year was Yosemite made a World Heritage Site?", ["1984"], "when"),
    ("Yosemite National Park", "Which agency manages Yosemite?", ["National Park Service"], "who"),
    ("Gone with the Wind (film)", "Who directed the film Gone with the Wind?", ["Victor Fleming"], "who"),
    ("Gone with the Wind (film)", "Who wrote the novel the film Gone With the Wind was adapted from?", ["Margaret Mitchell"], "who"),
    ("Gone with the Wind (film)", "What is the name of the strong-willed heroine of Gone with the Wind?", ["Scarlett O'Hara", "Scarlett"], "who"),
    ("Sigismund III Vasa", "To which city did Sigismund III move the Polish capital from Krakow?", ["Warsaw"], "where"),
    ("Sigismund III Vasa", "Besides Poland, which country did Sigismund III Vasa rule as king?", ["Sweden"], "what"),
    ("Sigismund III Vasa", "Which religion did Sigismund III impose across his realm?", ["Catholicism"], "what"),
    ("Optical disc", "What is used to read an optical disc?", ["a beam of light", "light"], "what"),
    ("Frank Gehry", "In which Spanish city is Frank Gehry's Guggenheim Museum?", ["Bilbao"], "where"),
    ("Frank Gehry", "Which concert hall in Los Angeles did Gehry design?", ["Walt Disney Concert Hall"], "what"),
    ("Frank Gehry", "Name a metal Frank Gehry's buildings are known for using.", ["titanium", "stainless steel"], "later-sentence"),
    ("Radiology", "What does MRI stand for?", ["magnetic resonance imaging"], "abbreviation"),
    ("Radiology", "Which imaging technique did radiology begin with?", ["radiography"], "what"),
    ("LeBron James", "What is LeBron James' nickname?", ["King James"], "what"),
    ("LeBron James", "How many NBA championships has LeBron James won?", ["four"], "how-many"),
    ("LeBron James", "How many Olympic gold medals does Lebron James have?", ["three"], "how-many"),
    ("Sanitation", "Name a disease whose transmission sanitation can reduce through the fecal-oral route.", ["diarrhea"], "what"),
    ("Jean Froissart", "Which war is Froissart's history an important source for?", ["Hundred Years' War"], "what"),
    ("Jean Froissart", "What is the name of Froissart's long Arthurian romance?", ["Meliador"], "what"),
    ("Folk music", "During which century did the folk revival take place?", ["20th-century", "20th"], "when"),
    ("Khalid ibn al-Walid", "Which tribe did Khalid ibn al-Walid first fight for against Muhammad?", ["Quraysh"], "who"),
    ("Khalid ibn al-Walid", "Which Byzantine province did Khalid ibn al-Walid help conquer in 634–638?", ["Syria", "Byzantine Syria"], "later-sentence"),
    ("Río de la Plata", "Which two rivers meet to form the Rio de la Plata?", ["Uruguay River and the Paraná River", "Uruguay", "Paraná"], "what-misspelt"),
    ("Río de la Plata", "Into which ocean does the River Plate empty?", ["Atlantic Ocean", "Atlantic"], "where"),
    ("Río de la Plata", "How wide is the Río de la Plata at its widest, in kilometres?", ["220"], "how-many"),
    ("Atmosphere of Earth", "What keeps the atmosphere of Earth in place?", ["gravity"], "what"),
    ("Macaque", "How many species of macaques are there?", ["23"], "how-many"),
    ("Macaque", "Around whom are macaque social groups arranged?", ["dominant matriarchs", "matriarchs"], "later-sentence"),
    ("Hornet", "Hornets are wasps of which genus?", ["Vespa"], "what"),
    ("Hornet", "Which hornet species can grow longer than 50 mm?", ["Asian giant hornet"], "which-of"),
    ("The Jazz Singer", "Which studio produced The Jazz Singer?", ["Warner Bros."], "who"),
    ("The Jazz Singer", "Which singer performed the six songs of The Jazz Singer?", ["Al Jolson"], "who"),
    ("The Jazz Singer", "In which year was The Jazz Singer released?", ["1927"], "when"),
    ("Monaco", "Which is the only sovereign state smaller than Monaco?", ["Vatican City"], "which-of"),
    ("Monaco", "Which country borders Monaco on the north, east and west?", ["France"], "where"),
    ("Monaco", "How long is Monaco's coastline?", ["3.83 km"], "how-many"),
    ("Huldrych Zwingli", "Zwingli led the Reformation in which country?", ["Switzerland"], "where"),
    ("Huldrych Zwingli", "Whose writings influenced Zwingli while he was in Einsiedeln?", ["Erasmus"], "later-sentence"),
    ("Thallium", "What is the chemical symbol of thallium?", ["Tl"], "what"),
    ("Thallium", "What is the atomic number of thallium?", ["81"], "how-many"),
    ("Thallium", "In what year was thallium discovered?", ["1861"], "when"),
    ("Thallium", "What colour is the spectral line that gave thallium its name?", ["green"], "later-sentence"),
    ("Ursa Minor", "What is Ursa Minor's North American name?", ["Little Dipper"], "what"),
    ("Ursa Minor", "Which pole star belongs to Ursa Minor?", ["Polaris"], "which-of"),
    ("Ursa Minor", "Which 2nd-century astronomer listed Ursa Minor among his 48 constellations?", ["Ptolemy"], "who"),
    ("Volcano", "Where are most volcanoes on Earth found?", ["underwater"], "where"),
    ("Volcano", "Name the ring of volcanoes caused by convergent plates around the Pacific.", ["Pacific Ring of Fire", "Ring of Fire"], "later-sentence"),
    ("French Revolutionary Wars", "In what year did the French Revolutionary Wars end?", ["1802"], "when"),
    ("French Revolutionary Wars", "Into how many periods are the French Revolutionary Wars divided?", ["two"], "how-many"),
    ("Pennsylvania", "What is the state capital of Pennsylvania?", ["Harrisburg"], "what"),
    ("Pennsylvania", "What is the most populous city of Pennsylvania?", ["Philadelphia"], "which-of"),
    ("Pennsylvania", "Which line does Pennsylvania's border with Maryland form?", ["Mason-Dixon Line"], "what"),
    ("The Sound of Music (film)", "Who directed the 1965 film The Sound of Music?", ["Robert Wise"], "who"),
    ("The Sound of Music (film)", "In which city is The Sound of Music set?", ["Salzburg"], "where"),
    ("The Sound of Music (film)", "Who starred opposite Christopher Plummer in The Sound of Music?", ["Julie Andrews"], "who"),
    ("Albert Bandura", "At which university was Albert Bandura a professor?", ["Stanford University", "Stanford"], "where"),
    ("Albert Bandura", "Which famous 1961 experiment is Bandura known for?", ["Bobo doll experiment", "Bobo doll"], "what"),
    ("Manchuria", "Manchuria covers the entirety of which part of present-day China?", ["Northeast China"], "what"),
    ("Ice cream", "Ice cream is usually made from milk or what?", ["cream"], "what"),
    ("Rock and roll", "In which country did rock and roll evolve?", ["United States"], "where"),
    ("Rock and roll", "In which year did rock and roll get its name?", ["1954"], "when"),
    ("Bird of prey", "What is another name for birds of prey?", ["raptors"], "what"),
    ("Autocracy", "What is the person holding absolute power in an autocracy called?", ["autocrat"], "what"),
    ("Oil shale", "Which organic substance in oil shale yields liquid hydrocarbons?", ["kerogen"], "what"),
    ("Bat", "Are bats the only mammals capable of true flight?", ["yes"], "yes-no"),
    ("Bat", "What is the smallest bat?", ["Kitti's hog-nosed bat"], "which-of"),
    ("Bat", "Which bats are the largest?", ["flying foxes"], "later-sentence"),
    ("Thyroid", "Where in the human body is the thyroid gland?", ["the neck", "neck"], "where"),
    ("Thyroid", "What is the thin band of tissue connecting the thyroid's lobes called?", ["isthmus"], "later-sentence"),
    ("Hybrid (biology)", "What is an individual called whose cells partly come from a different organism?", ["chimera"], "what"),
    ("Nucleosynthesis", "Which elements did Big Bang nucleosynthesis mostly leave the universe with?", ["hydrogen and helium", "hydrogen", "helium"], "what"),
    ("Periodic table", "Into how many blocks is the periodic table divided?", ["four"], "how-many"),
    ("Periodic table", "What are the rows of the periodic table called?", ["periods"], "what"),
    ("Java (programming language)", "What does the Java slogan WORA stand for?", ["write once, run anywhere"], "abbreviation"),
    ("Java (programming language)", "To what are Java programs usually compiled?", ["bytecode"], "what"),
    ("Ceramic art", "Which material is ceramic art made from, for example?", ["clay"], "what"),
    ("Congress of Berlin", "Which treaty did the Congress of Berlin revise?", ["Treaty of San Stefano"], "what"),
    ("Congress of Berlin", "Which war had the Treaty of San Stefano ended?", ["Russo-Turkish War"], "later-sentence"),
    ("Yoruba religion", "In which country is most of Yorubaland?", ["Nigeria"], "where"),
    ("Diaspora", "From which language does the word diaspora come?", ["Greek"], "what"),
    ("Baroque music", "Roughly which years does the Baroque period of music span?", ["1600 to 1750"], "when"),
    ("Baroque music", "Who wrote the first operas?", ["Jacopo Peri"], "who"),
    ("Baroque music", "Which composer originated the concerto grosso style?", ["Alessandro Stradella"], "who"),
    ("Rapping", "Rap is a main ingredient of which music genre?", ["hip-hop"], "what"),
    ("Cloud", "Which substance mostly makes up the droplets and crystals of clouds?", ["Water"], "what"),
    ("Eastern Front (World War II)", "On what date did the Eastern Front of World War II begin?", ["22 June 1941"], "when"),
    ("Eastern Front (World War II)", "About how many deaths occurred on the Eastern Front?", ["30 million"], "how-many"),
    ("Eastern Front (World War II)", "What is the Eastern Front called in Russia, the Great what War?", ["Great Patriotic War", "Patriotic"], "paraphrase"),
    ("Cotton gin", "What does a cotton gin separate cotton fibres from?", ["seeds"], "what"),
    ("Cotton gin", "What oil can be made from the separated seeds?", ["cottonseed oil"], "later-sentence"),
    ("RNA", "What does mRNA stand for?", ["messenger RNA"], "abbreviation"),
    ("RNA", "What does RNA stand for?", ["Ribonucleic acid"], "abbreviation"),
    ("Francia", "Who founded the Kingdom of the Franks?", ["Clovis I", "Clovis"], "who"),
    ("Francia", "In what year did Francia become the Carolingian Empire?", ["800"], "when"),
    ("Sumer", "Between which two rivers did the Sumerians live?", ["Tigris and Euphrates"], "where"),
    ("Sumer", "From which Sumerian cities do the earliest known texts come?", ["Uruk and Jemdet Nasr", "Uruk"], "later-sentence"),
    ("Humphry Davy", "Which safety lamp did Humphry Davy invent?", ["Davy lamp"], "what"),
    ("Humphry Davy", "In which year did Davy isolate potassium and sodium?", ["1807"], "when"),
    ("Humphry Davy", "Which gas made Humphry Davy laugh in 1799?", ["nitrous oxide"], "later-sentence"),
    ("Philip V of Spain", "When did Philip V of Spain die?", ["1746"], "when"),
    ("Philip V of Spain", "Which war did Philip V's accession set off?", ["War of the Spanish Succession"], "what"),
    ("Philip V of Spain", "Which decrees did Philip V use to suppress regional privileges?", ["Nueva Planta decrees", "Nueva Planta"], "later-sentence"),
    ("East Africa", "How many sovereign states does the UN count in East Africa?", ["18"], "how-many"),
    ("Hydrogen peroxide", "What is the chemical formula of hydrogen peroxide?", ["H2O2"], "what"),
    ("Hydrogen peroxide", "What colour is pure hydrogen peroxide?", ["very pale blue", "pale blue", "blue"], "what"),
    ("Anwar Sadat", "Which number president of Egypt was Anwar Sadat?", ["third"], "which-of"),
    ("Anwar Sadat", "Which king did the Free Officers overthrow in 1952?", ["King Farouk I", "Farouk"], "who"),
    ("Anwar Sadat", "With which Israeli prime minister did Sadat sign a peace treaty?", ["Menachem Begin", "Begin"], "who"),
    ("Led Zeppelin", "In which city was Led Zeppelin formed?", ["London"], "where"),
    ("Led Zeppelin", "Who was Led Zeppelin's drummer?", ["John Bonham"], "who"),
    ("Led Zeppelin", "Who played guitar in Led Zepplin?", ["Jimmy Page"], "who-misspelt"),
    ("Moraceae", "By what common name is the Moraceae family known?", ["mulberry or fig family", "mulberry", "fig"], "what"),
    ("Respiratory failure", "What is a drop in the oxygen carried in the blood called?", ["hypoxemia"], "what"),
    ("Respiratory failure", "What is a rise in arterial carbon dioxide called?", ["hypercapnia"], "what"),
    ("Jorge Luis Borges", "What nationality was Jorge Luis Borges?", ["Argentine"], "what"),
    ("Jorge Luis Borges", "Name one of Borges's best-known short-story collections.", ["Ficciones", "El Aleph"], "what"),
    ("Talk show", "Who puts forth the topics in a talk show?", ["a talk show host", "host"], "who"),
    ("The Rolling Stones", "In which year were the Rolling Stones formed?", ["1962"], "when"),
    ("The Rolling Stones", "Who was the drummer of the Rolling Stones' first stable line-up?", ["Charlie Watts"], "who"),
    ("The Rolling Stones", "Who was the primary leader of the Rolling Stones in their early years?", ["Brian Jones", "Jones"], "later-sentence"),
    ("Perissodactyla", "What is the common name of Perissodactyla?", ["odd-toed ungulates"], "what"),
    ("Perissodactyla", "How many toes do tapirs keep on their front feet?", ["four"], "how-many"),
    ("Electrical grid", "What step voltage up or down in an electrical grid?", ["electrical substations", "substations"], "what"),
    ("Venus", "Which planet from the Sun is Venus?", ["second"], "which-of"),
    ("Venus", "What are Venus's clouds made of?", ["sulfuric acid"], "what"),
    ("Venus", "Is Venus the hottest planet in the Solar System?", ["yes"], "yes-no"),
    ("Amr ibn al-As", "Which country did Amr ibn al-As conquer for the Muslims?", ["Egypt"], "what"),
    ("Amr ibn al-As", "Which caliph appointed Amr as a commander for the conquest of Syria?", ["Abu Bakr"], "who"),
    ("Unmanned aerial vehicle", "What is an unmanned aerial vehicle commonly called?", ["drone"], "what"),
    ("Unmanned aerial vehicle", "What does UAV stand for?", ["unmanned aerial vehicle"], "abbreviation"),
    ("Zurich", "Which is the largest city in Switzerland?", ["Zurich"], "which-of"),
    ("Zurich", "At the tip of which lake is Zurich?", ["Lake Zurich"], "where"),
    ("Moat", "What is a moat?", ["a deep, broad ditch", "ditch"], "what"),
    ("Pinball", "What were the nails on old pinball boards called?", ["pins"], "later-sentence"),
    ("The Raven", "Who wrote the poem The Raven?", ["Edgar Allan Poe", "Poe"], "who"),
    ("The Raven", "Which single word does the raven keep saying?", ["nevermore"], "what"),
    ("The Raven", "What is the name of the lost love in The Raven?", ["Lenore"], "later-sentence"),
    ("Kirchhoff's circuit laws", "When were Kirchhoff's laws first described?", ["1845"], "when"),
    ("Kirchhoff's circuit laws", "How many equalities make up Kirchhoff's circuit laws?", ["two"], "how-many"),
    ("Cavalry", "How do cavalry soldiers fight?", ["mounted on horseback", "horseback"], "what"),
    ("Moth", "To which insect order do moths belong?", ["Lepidoptera"], "what"),
    ("Moth", "Which other well-known insects share the order Lepidoptera with moths?", ["butterflies"], "what"),
    ("Database", "What does DBMS stand for?", ["database management system"], "abbreviation"),
    ("Anti-reflective coating", "What does an anti-reflective coating reduce?", ["reflection"], "what"),
    ("Forest", "Which UN organisation's definition of a forest is quoted?", ["Food and Agriculture Organization", "FAO"], "who"),
    ("Invasion", "Is an unprovoked invasion today considered an international crime?", ["yes"], "yes-no"),
    ("Finger", "How many digits do most tetrapods have?", ["five"], "how-many"),
    ("Anthropology", "Which branch of anthropology studies how language influences social life?", ["Linguistic anthropology"], "which-of"),
    ("Geography", "Geography has been called a bridge between which two kinds of science?", ["natural science and social science"], "what"),
    ("Technical geography", "Which technique named in the article was originally developed for another field?", ["Kriging"], "later-sentence"),
    ("Mystical or religious experience", "What is another name for a religious experience?", ["spiritual experience", "sacred experience"], "what"),
    ("Symbol", "In the article's example, what does a red octagon symbolise?", ["STOP"], "what"),
    ("Modern era", "From around which year is the modern era often dated in European history?", ["1500"], "when"),
    ("Riverboat", "What kind of navigation is a riverboat designed for?", ["inland navigation"], "what"),
    ("History of slavery", "Where did the Neolithic Revolution begin?", ["Western Asia"], "where"),
    ("Middle East", "Which older Western term roughly corresponds to the Middle East?", ["Near East"], "what"),
    ("Tool", "Do animals other than humans use tools?", ["yes"], "yes-no"),
]

# (gold articles, question, answers, kind): every question needs both articles
TWO_HOP = [
    (["Led Zeppelin", "The Rolling Stones"], "Which band was formed first, Led Zeppelin or the Rolling Stones?", ["The Rolling Stones", "Rolling Stones"], "comparison"),
    (["Led Zeppelin", "The Rolling Stones"], "Which band had Charlie Watts on drums, Led Zeppelin or The Rolling Stones?", ["The Rolling Stones", "Rolling Stones"], "comparison"),
    (["Gone with the Wind (film)", "The Sound of Music (film)"], "Which film came out earlier, The Sound of Music or Gone with the Wind?", ["Gone with the Wind"], "comparison"),
    (["Gone with the Wind (film)", "The Sound of Music (film)"], "How many years after Gone with the Wind was The Sound of Music released?", ["26"], "computed"),
    (["The Jazz Singer", "Gone with the Wind (film)"], "Which film was directed by Victor Fleming: The Jazz Singer or Gone with the Wind?", ["Gone with the Wind"], "comparison"),
    (["The Jazz Singer", "Gone with the Wind (film)"], "How many years separate the releases of The Jazz Singer and Gone with the Wind?", ["12"], "computed"),
    (["Sigismund III Vasa", "Philip V of Spain"], "Who became king first, Philip V of Spain or Sigismund III Vasa?", ["Sigismund III Vasa", "Sigismund"], "comparison"),
    (["Thallium", "Humphry Davy"], "Which element was isolated first, potassium or thallium?", ["potassium"], "comparison"),
    (["Thallium", "Humphry Davy"], "How many years after Davy isolated potassium was thallium discovered?", ["54"], "computed"),
    (["Austin, Texas", "Zurich"], "Which city has more inhabitants, Austin or Zurich?", ["Austin"], "comparison"),
    (["Zurich", "Monaco"], "Which is more populous, the city of Zurich or the principality of Monaco?", ["Zurich"], "comparison"),
    (["Procyon", "Ursa Minor"], "Which constellation contains the north pole star: Ursa Minor or the constellation of Procyon?", ["Ursa Minor"], "comparison"),
    (["Venus", "Jupiter"], "Which planet is closer to the Sun, Venus or Jupiter?", ["Venus"], "comparison"),
    (["Venus", "Jupiter"], "Which is larger, Jupiter or Venus?", ["Jupiter"], "comparison"),
    (["The Raven", "Kirchhoff's circuit laws"], "Were Kirchhoff's circuit laws first described in the year The Raven was first published?", ["yes"], "yes-no"),
    (["Jorge Luis Borges", "The Raven"], "Who was Argentine, Jorge Luis Borges or the author of The Raven?", ["Jorge Luis Borges", "Borges"], "comparison"),
    (["Albert Bandura", "Frank Gehry"], "Were both Albert Bandura and Frank Gehry Canadian-American?", ["yes"], "yes-no"),
    (["Khalid ibn al-Walid", "Amr ibn al-As"], "Which caliph did both Khalid ibn al-Walid and Amr ibn al-As serve as commanders?", ["Abu Bakr"], "bridge"),
    (["Amr ibn al-As", "Anwar Sadat"], "Amr ibn al-As governed a country that Anwar Sadat later led; what number president of it was Sadat?", ["third"], "bridge"),
    (["LeBron James", "Pennsylvania"], "LeBron James plays for a team named after the most populous city of which US state?", ["Pennsylvania"], "bridge"),
    (["Frank Gehry", "Yosemite National Park"], "Frank Gehry's private residence is in the same state as which national park known for granite cliffs and giant sequoias?", ["Yosemite National Park", "Yosemite"], "bridge"),
    (["Frank Gehry", "Philip V of Spain"], "Which Gehry museum stands in the country whose longest-reigning monarch was Philip V?", ["Guggenheim Museum Bilbao", "Guggenheim"], "bridge"),
    (["Huldrych Zwingli", "Zurich"], "What is the largest city of the country where Zwingli led the Reformation?", ["Zurich"], "bridge"),
    (["Jōmon period", "Tokyo"], "What is the capital of the country the Jōmon people inhabited?", ["Tokyo"], "bridge"),
    (["Opera", "Baroque music"], "Who wrote the first works of the art form in which dramatic roles are taken by singers and music is fundamental?", ["Jacopo Peri"], "bridge"),
    (["RNA", "DNA"], "What shape do the two chains of the other nucleic acid named beside RNA form?", ["double helix"], "bridge"),
    (["Madhvacharya", "Ayurveda"], "In which country was Madhvacharya born, where ayurveda also has its roots?", ["India"], "bridge"),
    (["Congress of Berlin", "French Revolutionary Wars"], "Which ended first, the French Revolutionary Wars or the war whose peace treaty the Congress of Berlin revised?", ["French Revolutionary Wars"], "comparison"),
    (["Hermitage Museum", "Eastern Front (World War II)"], "Which came first, the founding of the Hermitage collection or the start of the Eastern Front?", ["the founding of the Hermitage collection", "Hermitage"], "comparison"),
    (["Bat", "Bird of prey"], "Which animals hunt with sharp talons, bats or birds of prey?", ["birds of prey"], "comparison"),
    (["Hornet", "Moth"], "Are hornets and moths in the same insect order?", ["no"], "yes-no"),
    (["Mango", "Moraceae"], "Does the mango tree belong to the fig family?", ["no"], "yes-no"),
    (["Anwar Sadat", "Amr ibn al-As"], "Of Anwar Sadat and Amr ibn al-As, who led Egypt in the October war of 1973?", ["Anwar Sadat", "Sadat"], "comparison"),
    (["Sima Qian", "Manchuria"], "Sima Qian's history covers the country of which Manchuria forms the whole north-eastern part; what is its title?", ["Shiji"], "bridge"),
    (["Austin, Texas", "Pennsylvania"], "Which is the capital of its state: Austin or Philadelphia?", ["Austin"], "comparison"),
    (["Pennsylvania", "Austin, Texas"], "Is Philadelphia the state capital of Pennsylvania, as Austin is of Texas?", ["no"], "yes-no"),
    (["Francia", "Sumer"], "Which is older, the civilization of Sumer or the Kingdom of the Franks?", ["Sumer"], "comparison"),
    (["Java (programming language)", "Database"], "Which is a programming language, Java or a DBMS?", ["Java"], "comparison"),
    (["Thallium", "Periodic table"], "In the table whose rows are called periods, what is the atomic number of thallium?", ["81"], "bridge"),
    (["Humphry Davy", "Periodic table"], "Name an element Humphry Davy isolated in 1807.", ["potassium", "sodium"], "bridge"),
    (["Yosemite National Park", "Austin, Texas"], "Which is in California, Yosemite or Austin?", ["Yosemite"], "comparison"),
    (["Monaco", "Zurich"], "Which is a city-state, Monaco or Zurich?", ["Monaco"], "comparison"),
    (["Ursa Minor", "Procyon"], "Of Procyon and Polaris, how many light-years away is the one that is not the north pole star?", ["11.46"], "bridge"),
    (["Led Zeppelin", "Rock and roll"], "Led Zeppelin are seen as the progenitor of hard rock; in which year did rock and roll get its name?", ["1954"], "bridge"),
    (["Rapping", "Rock and roll"], "Which genre has rap as its primary ingredient, hip-hop or rock and roll?", ["hip-hop"], "comparison"),
    (["Folk music", "Rock and roll"], "Rock and roll drew on folk music; in which century was folk music's revival?", ["20th"], "bridge"),
    (["Baroque music", "Opera"], "Which composer of the period that preceded the Classical one wrote the first operas?", ["Jacopo Peri"], "bridge"),
    (["Eastern Front (World War II)", "French Revolutionary Wars"], "Which lasted longer, the French Revolutionary Wars or the Eastern Front of World War II?", ["French Revolutionary Wars"], "comparison"),
    (["The Raven", "Jorge Luis Borges"], "Was The Raven published before Borges's Ficciones?", ["yes"], "yes-no"),
    (["Hermitage Museum", "Monaco"], "Which has more: the number of Hermitage visitors in 2022 or Monaco's population?", ["Hermitage"], "comparison"),
    (["Kirchhoff's circuit laws", "Electrical grid"], "Which physicist's circuit laws form the basis for network analysis of networks like the electrical grid?", ["Gustav Kirchhoff", "Kirchhoff"], "bridge"),
    (["Cloud", "Atmosphere of Earth"], "Clouds create weather features in the layer of gas around Earth; what holds that layer in place?", ["gravity"], "bridge"),
    (["Nucleosynthesis", "Periodic table"], "Which is the lightest element left by Big Bang nucleosynthesis, also first in the periodic table?", ["hydrogen"], "bridge"),
    (["Cotton gin", "Mango"], "Handheld roller gins were used, and the mango originated, in which part of the world?", ["Indian subcontinent", "South Asia"], "bridge"),
    (["Sigismund III Vasa", "Francia"], "Who ruled first, Clovis I of the Franks or Sigismund III Vasa?", ["Clovis I", "Clovis"], "comparison"),
    (["Perissodactyla", "Finger"], "Most tetrapods have five digits; how many toes do tapirs keep on their front feet?", ["four"], "bridge"),
    (["Macaque", "Hornet"], "How many species are there in total of macaques and of Vespa hornets?", ["45"], "computed"),
    (["Radiology", "Respiratory failure"], "Is MRI an imaging modality of the specialty used to diagnose diseases such as respiratory failure?", ["yes"], "yes-no"),
    (["Totalitarianism", "Autocracy"], "In totalitarianism all power is held by a dictator; what is the person holding absolute power in an autocracy called?", ["autocrat"], "bridge"),
    (["Hybrid (biology)", "Male"], "A hybrid's cells carry genetic material from two organisms; which gamete does its male parent produce?", ["sperm"], "bridge"),
    (["Volcano", "Atmosphere of Earth"], "Volcanic ash escapes into the gas layer that gravity holds around Earth; what does that layer shield the surface from?", ["meteoroids", "ultraviolet solar radiation"], "bridge"),
]

OLD_DEV = "corpora/data/wiki_dev.jsonl"  # the first 30 hand-written questions: looked at while tuning, so dev-select


def main() -> None:
    import json
    import random
    from pathlib import Path

    from ragadapt.corpora.wiki import load_wiki
    from ragadapt.eval.metrics import answer_contains

    text = {d.id: f"{d.title} {d.text}" for d in load_wiki()}
    rows, problems = [], []
    for doc, question, answers, kind in SINGLE:
        rows.append({"question": question, "answers": answers, "gold_doc_ids": [doc], "kind": kind, "hops": 1})
    for docs, question, answers, kind in TWO_HOP:
        rows.append({"question": question, "answers": answers, "gold_doc_ids": docs, "kind": kind, "hops": 2})
    for row in rows:
        missing = [d for d in row["gold_doc_ids"] if d not in text]
        if missing:
            problems.append(f"{row['question']}: no article {missing}")
        elif row["kind"] not in ("yes-no", "computed") and not any(
                answer_contains(text[d], row["answers"]) for d in row["gold_doc_ids"]):
            problems.append(f"{row['question']}: no answer {row['answers']} in {row['gold_doc_ids']}")
    if problems:
        raise SystemExit("\n".join(problems))
    old = [json.loads(line) for line in Path(OLD_DEV).read_text().splitlines() if line.strip()]
    # split once, by article: a question goes with its first article, so every question about a dev-test
    # article's facts is in dev-test (and training recipes leave out every dev-test question's articles)
    articles = sorted({r["gold_doc_ids"][0] for r in rows} - {d for r in old for d in r.get("gold_doc_ids", [])})
    random.Random(18).shuffle(articles)
    test_articles = set(articles[: len(articles) // 2])
    for row in rows:
        row["split"] = "dev-test" if row["gold_doc_ids"][0] in test_articles else "dev-select"
    for row in old:
        rows.append({**row, "kind": "original", "hops": 1, "split": "dev-select"})
    out = Path("corpora/data/wiki_handwritten.jsonl")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts = {(r["split"], r["hops"]): 0 for r in rows}
    for r in rows:
        counts[(r["split"], r["hops"])] += 1
    print(f"{len(rows)} questions -> {out}: " + ", ".join(f"{s} {h}-hop {n}" for (s, h), n in sorted(counts.items())))


if __name__ == "__main__":
    main()
